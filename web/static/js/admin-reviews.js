import { api, el } from "/static/js/api.js";

// Reviews for staff: hide one (with the reason its author sees) or publish it again.
const body = document.querySelector("#reviews tbody");
const message = document.getElementById("reviews-message");
const status = document.getElementById("reviews-status");
const more = document.getElementById("reviews-more");

function say(text, ok) {
  message.className = ok ? "ok" : "error";
  message.textContent = text;
}

async function moderate(review, to) {
  const note = to === "hidden" ? window.prompt("Why hide it? The author sees this.") : "";
  if (note === null) return;
  try {
    await api(`/api/staff/reviews/${review.id}/moderation`, { method: "POST", body: { status: to, note } });
    say(`Review ${review.id} ${to === "hidden" ? "hidden" : "published again"}.`, true);
    await load();
  } catch (err) {
    say(`Review ${review.id}: ${err.message}`, false);
  }
}

function row(r) {
  const hidden = r.status === "hidden";
  return el(
    "tr",
    { "data-review": r.id },
    el("td", { "data-label": "Product" }, el("a", { href: `/products/${encodeURIComponent(r.product_handle)}#reviews` }, r.product_handle)),
    el("td", { "data-label": "Rating" }, `${r.rating} / 5`),
    el("td", { "data-label": "Review" }, el("strong", {}, r.title), r.title && r.body ? " · " : "", r.body),
    el("td", { "data-label": "Author" }, `${r.author}${r.verified ? " (verified)" : ""}`),
    el("td", { "data-label": "Written" }, new Date(r.created_at).toLocaleString()),
    el("td", { "data-label": "Status", "data-status": r.status }, hidden ? `hidden: ${r.moderation_note || "no reason given"}` : "published"),
    el("td", {}, el("button", { type: "button", onclick: () => moderate(r, hidden ? "published" : "hidden") }, hidden ? "Publish" : "Hide")),
  );
}

async function load(before) {
  const query = new URLSearchParams();
  if (status.value) query.set("status", status.value);
  if (before) query.set("before", before);
  const items = await api(`/api/staff/reviews?${query}`);
  const rows = items.map(row);
  if (before) body.append(...rows);
  else body.replaceChildren(...rows);
  document.getElementById("reviews-empty").hidden = body.children.length > 0;
  more.hidden = items.length < 50;
  more.onclick = () => load(items[items.length - 1].id).catch((err) => say(err.message, false));
}

status.addEventListener("change", () => load().catch((err) => say(err.message, false)));
load().catch((err) => say(err.message, false));
