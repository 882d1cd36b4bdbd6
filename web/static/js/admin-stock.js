import { api, el } from "/static/js/api.js";

// The stock room: levels with low and out-of-stock lists and a suggested reorder; receive, count or adjust
// a variant with a reason, or change its threshold; its movement ledger.
const $ = (x) => document.getElementById(x);
const form = $("stock-filter");
const body = document.querySelector("#stock tbody");
const dialog = $("stock-dialog");
let showing = new URLSearchParams(window.location.search).get("showing") || "all";
let next = null;
let current = null;

function say(text, ok = true) {
  $("stock-message").className = ok ? "ok" : "error";
  $("stock-message").textContent = text;
}

function label(r) {
  const options = Object.values(r.options).join(" / ");
  return `${r.product_name}${options ? ` — ${options}` : ""}`;
}

function row(r) {
  return el(
    "tr",
    { dataset: { variant: r.variant_id }, class: r.available <= 0 ? "out" : r.available <= r.low_stock_threshold ? "low" : "" },
    el("td", { "data-label": "Variant" }, el("a", { href: `/products/${r.product_handle}` }, label(r)), el("div", { class: "muted" }, r.sku)),
    el("td", { "data-label": "On hand" }, String(r.on_hand)),
    el("td", { "data-label": "Reserved" }, String(r.reserved)),
    el("td", { "data-label": "Available" }, String(r.available)),
    el("td", { "data-label": "Threshold" }, String(r.low_stock_threshold)),
    el("td", { "data-label": "Sold (30 d)" }, String(r.sold_last_30_days), r.days_of_cover !== null ? el("div", { class: "muted" }, `${r.days_of_cover} days of cover`) : ""),
    el("td", { "data-label": "Waiting", class: "waiting" }, "—"),
    el("td", { "data-label": "Suggested reorder" }, r.suggested_reorder ? String(r.suggested_reorder) : "—"),
    el("td", { "data-label": "" }, el("button", { type: "button", onclick: () => open(r) }, "Stock…")),
  );
}

async function load(more = false) {
  try {
    const params = new URLSearchParams({ showing, q: form.elements.q.value, cover_days: form.elements.cover_days.value || "30" });
    if (more && next) params.set("after", next);
    const page = await api(`/api/admin/stock?${params}`);
    if (more) body.append(...page.items.map(row));
    else body.replaceChildren(...page.items.map(row));
    next = page.next_after;
    $("stock-more").hidden = !next;
    await waiting(page.items.map((r) => r.variant_id));
    $("low-count").textContent = String(page.low);
    $("out-count").textContent = String(page.out);
  } catch (err) {
    say(err.message, false);
  }
}

// shoppers waiting to hear it is back (back-in-stock signups), beside each variant shown
async function waiting(ids) {
  if (!ids.length) return;
  const params = new URLSearchParams(ids.map((id) => ["variant_id", id]));
  const counts = await api(`/api/admin/stock-alerts/waiting?${params}`);
  for (const [id, n] of Object.entries(counts)) {
    const cell = body.querySelector(`tr[data-variant="${id}"] .waiting`);
    if (cell) cell.textContent = String(n);
  }
}

async function open(r) {
  current = r;
  $("stock-dialog-title").textContent = label(r);
  const f = $("stock-form");
  f.reset();
  f.elements.threshold.value = r.low_stock_threshold;
  if (r.suggested_reorder) f.elements.units.value = r.suggested_reorder;
  dialog.showModal();
  const moves = await api(`/api/admin/variants/${r.variant_id}/ledger?limit=50`);
  $("stock-ledger").replaceChildren(
    ...moves.map((m) => el("li", {}, `${new Date(m.created_at).toLocaleString()} · ${m.kind} · on hand ${m.on_hand_delta >= 0 ? "+" : ""}${m.on_hand_delta}, reserved ${m.reserved_delta >= 0 ? "+" : ""}${m.reserved_delta}${m.note ? ` · ${m.note}` : ""} (${m.reference})`)),
  );
}

$("stock-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  const payload = { note: f.elements.note.value };
  const units = f.elements.units.value;
  if (units !== "") payload[f.elements.mode.value] = Number(units);
  const threshold = Number(f.elements.threshold.value);
  if (f.elements.threshold.value !== "" && threshold !== current.low_stock_threshold) payload.low_stock_threshold = threshold;
  try {
    const level = await api(`/api/admin/variants/${current.variant_id}/stock`, { method: "POST", body: payload });
    dialog.close();
    say(`${current.sku}: ${level.on_hand} on hand, ${level.available} available.`);
    await load();
  } catch (err) {
    say(err.message, false);
  }
});
$("stock-close").addEventListener("click", () => dialog.close());
document.querySelectorAll("[data-showing]").forEach((t) => t.setAttribute("aria-selected", String(t.dataset.showing === showing)));
for (const tab of document.querySelectorAll("[data-showing]")) {
  tab.addEventListener("click", () => {
    showing = tab.dataset.showing;
    document.querySelectorAll("[data-showing]").forEach((t) => t.setAttribute("aria-selected", String(t === tab)));
    load();
  });
}
form.addEventListener("submit", (e) => {
  e.preventDefault();
  load();
});
$("stock-more").addEventListener("click", () => load(true));
load();
