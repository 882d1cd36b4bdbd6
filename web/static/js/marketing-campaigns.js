import { api, el } from "/static/js/api.js";
import { localTime } from "/static/js/marketing-common.js";

// Push campaigns: the list, and the composer with a live preview (as Chrome, Firefox and Android show a
// notification), a segment builder with the live count of reachable devices, schedule and A/B.
const $ = (id) => document.getElementById(id);
const form = $("campaign-form");
const rules = []; // [{exclude, rule}]

function fail(id, err) {
  $(id).textContent = err.message;
  $(id).hidden = false;
}

async function loadList() {
  const campaigns = await api("/api/marketing/campaigns");
  const rows = campaigns.map((c) =>
    el(
      "tr",
      {},
      el("td", { "data-label": "Campaign" }, el("a", { href: `/marketing/campaigns/${c.id}` }, c.name || c.title || `#${c.id}`)),
      el("td", { "data-label": "State" }, el("span", { class: "badge" }, c.status)),
      el("td", { "data-label": "Sent" }, String(c.figures ? c.figures.total.sent : "")),
      el("td", { "data-label": "Clicked" }, String(c.figures ? c.figures.total.clicked : "")),
      el("td", { "data-label": "Created" }, localTime(c.created_at)),
    ),
  );
  $("campaign-list").querySelector("tbody").replaceChildren(...rows);
  $("campaigns-empty").hidden = rows.length > 0;
}

function value(name) {
  return (form.elements[name].value || "").trim();
}

function actions() {
  return [1, 2]
    .map((n) => ({ action: `a${n}`, title: value(`action${n}_title`), url: value(`action${n}_url`) }))
    .filter((a) => a.title);
}

function preview() {
  for (const box of document.querySelectorAll("[data-preview]")) {
    box.querySelector("[data-p=title]").textContent = value("title") || "Your title";
    box.querySelector("[data-p=body]").textContent = value("body");
    const image = box.querySelector("[data-p=image]");
    if (image) {
      image.hidden = !value("image");
      if (value("image")) image.src = value("image");
    }
    box.querySelector("[data-p=actions]").replaceChildren(...actions().map((a) => el("span", { class: "action" }, a.title)));
  }
}

function ruleOf(type, input) {
  const n = Number(input);
  switch (type) {
    case "ordered":
      return { type, within_days: n || 30 };
    case "never_ordered":
      return { type };
    case "total_spent":
      return { type, min_cents: Math.round((Number(input) || 0) * 100) };
    case "bought_category":
      return { type, category: input };
    case "abandoned_cart":
      return { type, idle_hours: n || 24 };
    case "signed_up":
      return { type, within_days: n || 30 };
    case "time_zone":
      return { type, zones: [input || "UTC"] };
    default:
      return { type };
  }
}

function segment() {
  return {
    include: rules.filter((r) => !r.exclude).map((r) => r.rule),
    exclude: rules.filter((r) => r.exclude).map((r) => r.rule),
    match: "all",
  };
}

let counting = 0;
async function count() {
  const mine = ++counting;
  try {
    const answer = await api("/api/marketing/audience/count", { method: "POST", body: { segment: segment() } });
    if (mine === counting) $("audience-count").textContent = `${answer.devices} devices of ${answer.people} people can get it.`;
  } catch (err) {
    if (mine === counting) $("audience-count").textContent = err.message;
  }
}

function showRules() {
  $("rules").replaceChildren(
    ...rules.map((r, i) =>
      el(
        "div",
        { class: "row" },
        el("code", {}, `${r.exclude ? "not " : ""}${JSON.stringify(r.rule)}`),
        el("button", { type: "button", onclick: () => { rules.splice(i, 1); showRules(); count(); } }, "Remove"),
      ),
    ),
  );
}

$("add-rule").addEventListener("click", () => {
  const type = $("rule-type").value;
  const needs = !["never_ordered"].includes(type);
  const input = needs ? window.prompt($("rule-type").selectedOptions[0].textContent, "") : "";
  if (needs && input === null) return;
  rules.push({ exclude: $("rule-exclude").checked, rule: ruleOf(type, (input || "").trim()) });
  showRules();
  count();
});

function campaignBody() {
  const body = {
    name: value("name"),
    title: value("title"),
    body: value("body"),
    url: value("url") || "/",
    icon: value("icon"),
    image: value("image"),
    actions: actions(),
    segment: segment(),
    cap_policy: form.elements.cap_policy.value,
    holdout_percent: Number(value("holdout_percent") || 0),
  };
  if (value("rate_per_minute")) body.rate_per_minute = Number(value("rate_per_minute"));
  if (form.elements.ab.checked && value("title_b")) body.variants = [{ title: value("title_b"), body: value("body_b"), url: body.url }];
  return body;
}

function schedule() {
  const when = form.elements.when.value;
  if (when === "at") return { mode: "at", at: new Date(value("at")).toISOString() };
  if (when === "local") return { mode: "local", local_at: value("local_at") };
  return { mode: "now" };
}

$("send-test").addEventListener("click", async () => {
  $("composer-error").hidden = true;
  try {
    const draft = await api("/api/marketing/campaigns", { method: "POST", body: campaignBody() });
    const sent = await api(`/api/marketing/campaigns/${draft.id}/test`, { method: "POST" });
    $("composer-note").textContent = `A test went to your ${sent.queued} device(s). The draft is saved as #${draft.id}.`;
    $("composer-note").hidden = false;
    loadList();
  } catch (err) {
    fail("composer-error", err);
  }
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  $("composer-error").hidden = true;
  try {
    const draft = await api("/api/marketing/campaigns", { method: "POST", body: campaignBody() });
    const when = schedule();
    if (when.mode === "now") await api(`/api/marketing/campaigns/${draft.id}/send`, { method: "POST" });
    else await api(`/api/marketing/campaigns/${draft.id}/schedule`, { method: "POST", body: when });
    window.location.assign(`/marketing/campaigns/${draft.id}`);
  } catch (err) {
    fail("composer-error", err);
  }
});

form.addEventListener("input", preview);
$("new-campaign").addEventListener("click", () => {
  $("composer").hidden = false;
  form.elements.title.focus();
  preview();
  count();
});
for (const host of document.querySelectorAll("[data-host]")) host.textContent = window.location.hostname;
loadList().catch((err) => fail("composer-error", err));
