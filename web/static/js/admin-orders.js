import { api, el, money } from "/static/js/api.js";

// The order list: search and filters in the address bar (a link keeps them), keyset pages.
const $ = (x) => document.getElementById(x);
const form = $("order-filter");
const body = document.querySelector("#orders tbody");
let next = null;

function query(before) {
  const params = new URLSearchParams();
  for (const [k, v] of new FormData(form)) {
    if (!v) continue;
    // dates are days in the browser's zone: from its midnight to the next one
    if (k === "from") params.set("from", new Date(`${v}T00:00`).toISOString());
    else if (k === "to") params.set("to", new Date(new Date(`${v}T00:00`).getTime() + 86400000).toISOString());
    else params.set(k, v);
  }
  if (before) params.set("before", before);
  return params;
}

function row(o) {
  return el(
    "tr",
    {},
    el("td", { "data-label": "Order" }, el("a", { href: `/admin/orders/${encodeURIComponent(o.number)}` }, o.number)),
    el("td", { "data-label": "Placed" }, new Date(o.created_at).toLocaleString()),
    el("td", { "data-label": "Customer" }, o.email),
    el("td", { "data-label": "State" }, el("span", { class: `badge status-${o.status}` }, o.status.replace(/_/g, " "))),
    el("td", { "data-label": "Items" }, String(o.items)),
    el("td", { "data-label": "Total" }, money(o.total_cents, o.currency.toUpperCase())),
  );
}

async function load(more = false) {
  $("orders-error").hidden = true;
  try {
    const page = await api(`/api/staff/orders?${query(more ? next : null)}`);
    const rows = page.items.map(row);
    if (more) body.append(...rows);
    else body.replaceChildren(...rows);
    next = page.next_before;
    $("orders-more").hidden = !next;
    const count = `${page.total.toLocaleString()}${page.total_capped ? "+" : ""}`;
    $("orders-count").textContent = `${count} order${page.total === 1 && !page.total_capped ? "" : "s"}`;
  } catch (err) {
    $("orders-error").textContent = err.message;
    $("orders-error").hidden = false;
  }
}

const initial = new URLSearchParams(window.location.search);
for (const [k, v] of initial) if (form.elements[k]) form.elements[k].value = v;
form.addEventListener("submit", (e) => {
  e.preventDefault();
  const shown = new URLSearchParams([...new FormData(form)].filter(([, v]) => v));
  history.replaceState(null, "", `?${shown}`);
  load();
});
$("orders-more").addEventListener("click", () => load(true));
load();
