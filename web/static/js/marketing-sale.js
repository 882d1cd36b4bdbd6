// One flash sale, live: its state and countdown (server clock), units left per item, claims per second,
// conversion (paid / claimed) and revenue.
//
// `sale-admin:{id}` brings the report as its snapshot (engage/flash_sales/report.py) and then one `sale.stats`
// frame per item that changed (coalesced, the newest figures last); `sale:{id}` brings the sale's changes
// (published, edited, started, ended, cancelled). Claims per second starts from the server's figure (the
// report's claims in its recent window) and follows the claim counts of the frames as they come.
import { api, el } from "/static/js/api.js";
import {
  PHASE_LABELS,
  describeVariant,
  formatMoney,
  localTime,
  phaseAt,
  phaseBadgeClass,
  timeZone,
} from "/static/js/marketing-common.js";
import { realtime } from "/static/js/realtime.js";

const root = document.getElementById("sale-live");
const saleId = Number(root.dataset.saleId);
const currency = root.dataset.currency || "USD";
const API = `/api/marketing/flash-sales/${saleId}`;
const $ = (id) => document.getElementById(id);

const state = {
  sale: null, // the sale as the report describes it (name, status, times, items)
  stats: new Map(), // item_id -> figures (units_left, units_claimed, units_paid, claims_total, revenue_cents)
  reconciliation: null,
  reconciledAt: null, // server time of the report the reconciliation comes from
  rate: null, // {at, total, perSecond, windowMs}: the server's figure when the snapshot was taken
  samples: [], // [{at, total}]: claim counts seen since, by server time
};

function showError(message) {
  $("sale-error").textContent = message || "";
  $("sale-error").hidden = !message;
}

// ---- claims per second ---------------------------------------------------------------------------------

function totalClaims() {
  let total = 0;
  for (const s of state.stats.values()) total += s.claims_total;
  return total;
}

function recordSample(at) {
  state.samples.push({ at, total: totalClaims() });
  prune(realtime.now());
}

function prune(now) {
  if (!state.rate) return;
  const start = now - state.rate.windowMs;
  // keep one sample at or before the window's start: the count the window begins with
  while (state.samples.length > 1 && state.samples[1].at <= start) state.samples.shift();
}

// Claims in the last window / the window. Before the page has watched a whole window, the part before the
// snapshot is the server's own count of that time.
function claimsPerSecond(now) {
  const rate = state.rate;
  if (!rate) return null;
  prune(now);
  const start = now - rate.windowMs;
  const latest = state.samples.length ? state.samples[state.samples.length - 1].total : rate.total;
  let claims;
  if (start < rate.at) {
    const before = rate.perSecond * (Math.min(rate.at - start, rate.windowMs) / 1000);
    claims = latest - rate.total + before;
  } else {
    const first = state.samples[0] && state.samples[0].at <= start ? state.samples[0].total : rate.total;
    claims = latest - first;
  }
  return Math.max(0, claims) / (rate.windowMs / 1000);
}

// ---- rendering ------------------------------------------------------------------------------------------

function pct(x) {
  return `${(x * 100).toFixed(1)}%`;
}

function countdown(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const hms = [h, m, s].map((n) => String(n).padStart(2, "0")).join(":");
  return d ? `${d}d ${hms}` : hms;
}

function renderClock() {
  const sale = state.sale;
  if (!sale) return;
  const now = realtime.now();
  const phase = phaseAt(sale, now);
  const badge = $("sale-phase");
  if (badge.dataset.phase !== phase) {
    badge.dataset.phase = phase;
    badge.className = phaseBadgeClass(phase);
    badge.textContent = PHASE_LABELS[phase] || phase;
    renderActions(phase);
  }
  const text =
    phase === "upcoming" ? `starts in ${countdown(sale.starts_at_ms - now)}`
    : phase === "live" ? `ends in ${countdown(sale.ends_at_ms - now)}`
    : phase === "ended" ? "ended"
    : phase === "cancelled" ? "cancelled"
    : sale.starts_at_ms > now ? `not published · would start in ${countdown(sale.starts_at_ms - now)}`
    : "not published";
  $("countdown").textContent = text;
  const rate = claimsPerSecond(now);
  $("kpi-rate").textContent = rate === null ? "–" : rate.toFixed(rate >= 10 ? 0 : 1);
}

function renderActions(phase) {
  const open = !["ended", "cancelled"].includes(phase);
  $("edit-sale").hidden = !open;
  $("publish-sale").hidden = phase !== "draft";
  $("cancel-sale").hidden = !open || phase === "draft"; // a draft was never public: nothing to cancel
}

function renderSale() {
  const sale = state.sale;
  $("sale-name").textContent = sale.name;
  document.title = `${sale.name} · Engage`;
  $("sale-times").textContent =
    `${localTime(sale.starts_at, { seconds: true })} → ${localTime(sale.ends_at, { seconds: true })} (${timeZone})` +
    ` · at most ${sale.per_customer_limit} per customer`;
  $("sale-phase").dataset.phase = ""; // re-rendered by the clock
  renderClock();
}

function renderFigures() {
  const items = state.sale ? state.sale.items : [];
  let left = 0;
  let allotted = 0;
  let claims = 0;
  let paid = 0;
  let claimed = 0;
  let revenue = 0;
  const body = $("sale-items").querySelector("tbody");
  const rows = items.map((item) => {
    const s = state.stats.get(item.item_id) || item;
    left += s.units_left;
    allotted += s.units_allotted ?? item.units_allotted;
    claims += s.claims_total || 0;
    paid += s.units_paid || 0;
    claimed += s.units_claimed || 0;
    revenue += s.revenue_cents || 0;
    const soldOut = s.units_left === 0;
    return el(
      "tr",
      { dataset: { item: item.item_id, variant: item.variant_id } },
      el("td", {}, describeVariant(item)),
      el("td", {}, item.sku),
      el("td", { class: "price sale" }, formatMoney(item.sale_price_cents, currency)),
      el("td", { class: "muted" }, formatMoney(item.regular_price_cents, currency)),
      el("td", { class: soldOut ? "units-left out" : "units-left", "data-units-left": item.item_id }, soldOut ? "sold out" : s.units_left),
      el("td", {}, s.units_allotted ?? item.units_allotted),
      el("td", { "data-claims": item.item_id }, s.claims_total ?? 0),
      el("td", {}, s.units_paid ?? 0),
      el("td", {}, formatMoney(s.revenue_cents || 0, currency)),
    );
  });
  body.replaceChildren(...rows);
  $("kpi-units-left").textContent = left;
  $("kpi-units-of").textContent = `of ${allotted} allotted`;
  $("kpi-claims").textContent = claims;
  // units_claimed counts the held and the paid claims; the rest of the claims were released
  const held = Math.max(0, claimed - paid);
  $("kpi-claims-split").textContent = `${held} held · ${paid} paid · ${Math.max(0, claims - claimed)} released`;
  $("kpi-conversion").textContent = claims ? pct(paid / claims) : "–";
  $("kpi-paid").textContent = `units paid: ${paid}`;
  $("kpi-revenue").textContent = formatMoney(revenue, currency);
  if (state.rate) $("kpi-rate-window").textContent = `over the last ${Math.round(state.rate.windowMs / 1000)} s`;
  renderReconciliation();
}

function renderReconciliation() {
  const r = state.reconciliation;
  const box = $("reconciliation");
  if (!r) return;
  box.className = r.matches ? "ok" : "warn";
  const asOf = state.reconciledAt ? ` (as of ${new Date(state.reconciledAt).toLocaleTimeString()})` : "";
  const figures = `Units sold: ${r.units_sold}; in paid orders: ${r.units_in_paid_orders}`;
  box.textContent = r.matches ? `${figures}. They match${asOf}.` : `${figures}. They differ: check the orders${asOf}.`;
}

// ---- applying what the server says -------------------------------------------------------------------------

function applyReport(report) {
  state.sale = report;
  state.stats = new Map(report.stats.items.map((s) => [s.item_id, { ...s }]));
  state.reconciliation = report.reconciliation;
  state.reconciledAt = report.now;
  state.rate = {
    at: report.now,
    total: report.stats.claims_total,
    perSecond: report.stats.claims_per_second,
    windowMs: report.stats.rate_window_seconds * 1000,
  };
  state.samples = [{ at: report.now, total: report.stats.claims_total }];
  renderSale();
  renderFigures();
}

function applySale(view) {
  // the sale's own fields (status, times, name); figures stay with the stats frames
  const known = new Set((state.sale ? state.sale.items : []).map((i) => i.item_id));
  const sameItems = view.items.length === known.size && view.items.every((i) => known.has(i.item_id));
  if (!state.sale || !sameItems) return resync(); // items changed: take a fresh report
  state.sale = { ...state.sale, ...view, items: view.items };
  renderSale();
  renderFigures();
}

let adminSub = null;

function watchFigures() {
  adminSub = realtime.subscribe(`sale-admin:${saleId}`, (msg) => {
    if (msg.type === "snapshot") {
      if (msg.snapshot) applyReport(msg.snapshot);
      else showError("This sale does not exist.");
      return;
    }
    if (msg.event === "sale.stats") {
      const d = msg.data;
      state.stats.set(d.item_id, { ...(state.stats.get(d.item_id) || {}), ...d });
      recordSample(msg.ts || realtime.now());
      renderFigures();
      renderClock();
    }
  });
}

// A fresh snapshot of the figures (after the sale's items changed, or on request).
function resync() {
  if (adminSub) adminSub.unsubscribe();
  watchFigures();
}

realtime.subscribe(`sale:${saleId}`, (msg) => {
  if (msg.type === "snapshot") {
    if (msg.snapshot && state.sale) applySale(msg.snapshot);
    return;
  }
  if (msg.event === "sale.changed") resync(); // published or edited: take the whole report again
  else if (msg.data && msg.data.sale) applySale(msg.data.sale);
});
watchFigures();

realtime.watchState((s) => {
  const connection = $("connection");
  connection.textContent = s === "open" ? "live" : s === "reconnecting" ? "reconnecting…" : s === "offline" ? "offline" : "connecting…";
  connection.classList.toggle("down", s !== "open");
});
realtime.addEventListener("error", (e) => {
  if (e.detail && e.detail.code !== "throttled") showError(e.detail.message || e.detail.code);
});

// ---- actions ---------------------------------------------------------------------------------------------

async function act(button, path, confirmText) {
  if (confirmText && !window.confirm(confirmText)) return;
  button.disabled = true;
  try {
    applyReport(await api(`${API}/${path}`, { method: "POST" }));
    showError("");
  } catch (err) {
    showError(err.message);
  } finally {
    button.disabled = false;
  }
}

$("publish-sale").addEventListener("click", (e) => act(e.currentTarget, "publish"));
$("cancel-sale").addEventListener("click", (e) =>
  act(e.currentTarget, "cancel", "Cancel this sale? Its price ends at once and held units go back to the shop."),
);
$("refresh").addEventListener("click", resync);

setInterval(renderClock, 500);
