import { api, el, money } from "/static/js/api.js";
import { realtime } from "/static/js/realtime.js";

// The marketers' dashboard: today's tiles live over the hub (`sales-today`), a period's sales beside the
// one before (chart, top products, CSV), support and search figures.
const $ = (x) => document.getElementById(x);
const root = $("analytics");
const currency = root.dataset.currency || "USD";
const zone = root.dataset.timezone;
const period = $("period");
let chart = null;
let alertsChart = null;
let funnelChart = null;

function fail(err) {
  $("analytics-error").textContent = err.message;
  $("analytics-error").hidden = false;
}

function tile(label, value, before) {
  return el("div", { class: "tile" }, el("span", { class: "muted" }, label), el("strong", {}, value), before ? el("small", { class: "muted" }, `before: ${before}`) : "");
}

function showToday(t) {
  const fmt = (c) => money(c, t.currency || currency);
  $("today-date").textContent = t.date;
  $("tile-revenue").textContent = fmt(t.totals.revenue_cents);
  $("tile-orders").textContent = String(t.totals.orders);
  $("tile-aov").textContent = fmt(t.totals.average_order_cents);
  $("tile-refunds").textContent = fmt(t.totals.refunds_cents);
  $("tile-chats").textContent = String(t.conversations);
}

// "YYYY-MM-DD" of a moment in the shop's zone
function shopDay(date) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(date);
}

function seconds(s) {
  if (s === null || s === undefined) return "—";
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}

function showSales(s, buyers) {
  const fmt = (c) => money(c, s.currency);
  const t = s.totals;
  const p = s.previous;
  $("period-tiles").replaceChildren(
    tile("Revenue", fmt(t.revenue_cents), fmt(p.revenue_cents)),
    tile("Orders", String(t.orders), String(p.orders)),
    tile("Average order", fmt(t.average_order_cents), fmt(p.average_order_cents)),
    tile("Refunds", fmt(t.refunds_cents), fmt(p.refunds_cents)),
    tile("New buyers", String(buyers.new)),
    tile("Returning buyers", String(buyers.returning)),
  );
  $("top-products").querySelector("tbody").replaceChildren(
    ...s.top_products.map((x) =>
      el("tr", {}, el("td", { "data-label": "Product" }, el("a", { href: `/products/${x.handle}` }, x.name)), el("td", { "data-label": "Units" }, String(x.units)), el("td", { "data-label": "Revenue" }, fmt(x.revenue_cents))),
    ),
  );
  const labels = s.days.map((d) => d.date);
  const sets = [
    { label: "Revenue", data: s.days.map((d) => d.revenue_cents / 100) },
    { label: "Previous period", data: s.previous_days.map((d) => d.revenue_cents / 100), borderDash: [6, 4] },
  ];
  if (!window.Chart) return;
  if (chart) chart.destroy();
  chart = new window.Chart($("sales-chart"), {
    type: "line",
    data: { labels, datasets: sets },
    options: { animation: false, responsive: true, maintainAspectRatio: false, scales: { y: { beginAtZero: true, title: { display: true, text: s.currency } } } },
  });
}

const pct = (r) => `${(100 * r).toFixed(1)}%`;

function showFunnel(f, sales) {
  $("funnel-steps").querySelector("tbody").replaceChildren(
    ...f.steps.map((s, i) =>
      el(
        "tr",
        {},
        el("td", { "data-label": "Step" }, s.label),
        el("td", { "data-label": "Visitors" }, String(s.visits)),
        el("td", { "data-label": "Of the step before" }, i ? pct(s.from_previous) : "—"),
        el("td", { "data-label": "Of product views" }, pct(s.from_first)),
        el("td", { "data-label": "Period before" }, String(f.previous[i].visits)),
      ),
    ),
  );
  $("sale-funnels").querySelector("tbody").replaceChildren(
    ...sales.map((x) =>
      el(
        "tr",
        {},
        el("td", { "data-label": "Sale" }, el("a", { href: `/marketing/sales/${x.sale_id}` }, x.name), el("div", { class: "muted" }, `${x.starts_at.slice(0, 16).replace("T", " ")} UTC`)),
        el("td", { "data-label": "Claims" }, String(x.claims)),
        el("td", { "data-label": "Holds run out" }, String(x.released)),
        el("td", { "data-label": "Waiting" }, String(x.held)),
        el("td", { "data-label": "Paid" }, String(x.paid)),
        el("td", { "data-label": "Claim to order" }, pct(x.claim_to_order)),
        el("td", { "data-label": "Sell-through" }, `${pct(x.sell_through)} of ${x.units_allotted}`),
      ),
    ),
  );
  $("sale-funnels-empty").hidden = sales.length > 0;
  if (!window.Chart) return;
  if (funnelChart) funnelChart.destroy();
  funnelChart = new window.Chart($("funnel-chart"), {
    type: "bar",
    data: {
      labels: f.steps.map((s) => s.label),
      datasets: [
        { label: "This period", data: f.steps.map((s) => s.visits) },
        { label: "Period before", data: f.previous.map((s) => s.visits) },
      ],
    },
    options: { animation: false, responsive: true, maintainAspectRatio: false, indexAxis: "y" },
  });
}

function showSupport(f) {
  $("support-tiles").replaceChildren(
    tile("Conversations", String(f.conversations)),
    tile("Resolved", String(f.resolved)),
    tile("First answer (median)", seconds(f.median_first_response_seconds)),
    tile("Resolution (median)", seconds(f.median_resolution_seconds)),
    tile("SLA breaches", String(f.sla_breaches)),
    tile("Kept by the bot", String(f.bot_contained)),
    tile("Ratings", String(f.csat.ratings)),
    tile("Satisfied (4–5 of 5)", f.csat.satisfied_percent === null ? "—" : `${f.csat.satisfied_percent}%`),
  );
  $("handoffs").replaceChildren(...f.handoffs.map((h) => el("li", {}, `Handed over: ${h.reason} (${h.conversations})`)));
}

function showSearch(s) {
  $("search-tiles").replaceChildren(
    tile("Searches", String(s.searches)),
    tile("Click-through", pct(s.click_through_rate)),
    tile("Conversion", pct(s.conversion_rate)),
    tile("No results", pct(s.zero_result_rate)),
  );
  $("slow-searches").querySelector("tbody").replaceChildren(
    ...s.slowest_queries.map((q) =>
      el("tr", {}, el("td", { "data-label": "Query" }, q.query), el("td", { "data-label": "Slowest" }, `${q.took_ms} ms`), el("td", { "data-label": "Searches" }, String(q.searches))),
    ),
  );
}

function showAlerts(r) {
  const pct = (x) => (x === null ? "—" : `${(100 * x).toFixed(1)}%`);
  const t = r.totals;
  $("alerts-tiles").replaceChildren(
    tile("Signups", String(t.signups)),
    tile("Waiting", String(t.waiting)),
    tile("Notified", String(t.notified)),
    tile("Bought", String(t.bought)),
    tile("Conversion", pct(t.conversion)),
  );
  const name = (v) => `${v.product_name}${Object.keys(v.options).length ? ` (${Object.values(v.options).join(" / ")})` : ""}`;
  $("alerts-demand").querySelector("tbody").replaceChildren(
    ...r.variants.map((v) =>
      el(
        "tr",
        {},
        el("td", { "data-label": "Variant" }, el("a", { href: `/products/${v.handle}` }, name(v)), el("div", { class: "muted" }, v.sku)),
        ...[v.signups, v.waiting, v.notified, v.clicked, v.bought].map((n, i) => el("td", { "data-label": ["Signups", "Waiting", "Notified", "Clicked", "Bought"][i] }, String(n))),
        el("td", { "data-label": "Conversion" }, pct(v.conversion)),
      ),
    ),
  );
  if (!window.Chart) return;
  const top = r.variants.slice(0, 12);
  if (alertsChart) alertsChart.destroy();
  alertsChart = new window.Chart($("alerts-chart"), {
    type: "bar",
    data: {
      labels: top.map((v) => v.sku),
      datasets: [
        { label: "Signups", data: top.map((v) => v.signups) },
        { label: "Notified", data: top.map((v) => v.notified) },
        { label: "Bought", data: top.map((v) => v.bought) },
      ],
    },
    options: { animation: false, responsive: true, maintainAspectRatio: false },
  });
}

async function loadPeriod() {
  $("analytics-error").hidden = true;
  const q = new URLSearchParams({ from: period.elements.from.value, to: period.elements.to.value });
  $("sales-csv").href = `/api/admin/analytics/sales.csv?${q}`;
  $("products-csv").href = `/api/admin/analytics/products.csv?${q}`;
  $("funnel-csv").href = `/api/admin/analytics/funnel.csv?${q}`;
  const [sales, buyers, funnel, saleFunnels, support, search, alerts] = await Promise.all([
    api(`/api/admin/analytics/summary?${q}`),
    api(`/api/admin/analytics/customers?${q}`),
    api(`/api/admin/analytics/funnel?${q}`),
    api(`/api/admin/analytics/flash-sales?${q}`),
    api(`/api/admin/analytics/support?${q}`),
    api(`/api/search/analytics/summary?${q}`),
    api("/api/admin/stock-alerts/demand?days=90"),
  ]);
  showSales(sales, buyers);
  showFunnel(funnel, saleFunnels);
  showSupport(support);
  showSearch(search);
  showAlerts(alerts);
}

const now = new Date();
period.elements.to.value = shopDay(now);
period.elements.from.value = shopDay(new Date(now.getTime() - 29 * 86400000));
period.addEventListener("submit", (e) => {
  e.preventDefault();
  loadPeriod().catch(fail);
});

realtime.subscribe("sales-today", (msg) => {
  if (msg.type === "snapshot") showToday(msg.snapshot);
  else if (msg.event === "analytics.today") showToday(msg.data);
});
realtime.watchState((s) => {
  $("connection").textContent = s === "open" ? "live" : `${s === "idle" ? "connecting" : s}…`;
});
api("/api/admin/analytics/today").then(showToday).catch(fail);
loadPeriod().catch(fail);
