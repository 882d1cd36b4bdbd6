// Marketing console: post a site announcement (text, style, how long) and end running ones early.
// POST /api/announcements, GET /api/announcements/running, POST /api/announcements/{id}/end; the storefront
// shows and removes them live (announcements.js).
import { api, el } from "/static/js/api.js";
import { localTime } from "/static/js/marketing-common.js";

const $ = (id) => document.getElementById(id);
const form = $("announce-form");
const list = $("running-announcements");
const text = $("announce-text");
const LEVELS = { info: "Information", promo: "Promotion", warning: "Warning" };
const BADGES = { info: "", promo: "sale", warning: "warn" };

function say(node, message) {
  node.textContent = message || "";
  node.hidden = !message;
}

function count() {
  const left = text.maxLength - text.value.length;
  $("announce-text-count").textContent = `${left} characters left`;
}

function fieldError(message) {
  $("announce-text-error").textContent = message || "";
  text.setAttribute("aria-invalid", message ? "true" : "false");
}

function row(a) {
  return el(
    "li",
    { class: "running-announcement", dataset: { announcement: String(a.id) } },
    el("div", { class: "row between" },
      el("span", { class: `badge ${BADGES[a.level] || ""}`.trim() }, LEVELS[a.level] || a.level),
      el("span", { class: "muted small" }, `until ${localTime(a.expires_at)}`)),
    el("p", { class: "announcement-text" }, a.text),
    el("div", { class: "row between" },
      el("span", { class: "muted small" }, a.by ? `by ${a.by}` : ""),
      el("button", { type: "button", class: "danger", onclick: (e) => end(a, e.currentTarget) }, "End now")),
  );
}

async function load() {
  try {
    const running = await api("/api/announcements/running");
    list.replaceChildren(...running.map(row));
    $("no-announcements").hidden = running.length > 0;
  } catch (err) {
    say($("announce-error"), `Could not load the announcements: ${err.message}`);
  }
}

async function end(a, button) {
  button.disabled = true;
  try {
    await api(`/api/announcements/${a.id}/end`, { method: "POST" });
    $("announce-status").textContent = "Ended: it has left the storefront.";
  } catch (err) {
    say($("announce-error"), err.message);
  }
  await load();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  say($("announce-error"), "");
  $("announce-status").textContent = "";
  const body = { text: text.value.trim(), level: form.elements.level.value, minutes: Number(form.elements.minutes.value) };
  if (!body.text) {
    fieldError("Write the announcement first.");
    text.focus();
    return;
  }
  fieldError("");
  try {
    await api("/api/announcements", { method: "POST", body });
    form.reset();
    count();
    $("announce-status").textContent = "Posted: it is on every storefront page now.";
  } catch (err) {
    if ((err.problem && err.problem.field) === "text") fieldError(err.message);
    else say($("announce-error"), err.message);
  }
  await load();
});

text.addEventListener("input", count);
count();
load();
setInterval(load, 30000); // announcements expire; another marketer may post or end one
