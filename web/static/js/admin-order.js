import { api, el, money } from "/static/js/api.js";
import { currencyDigits, toMinorUnits } from "/static/js/money.js";

// One order for staff: lines, refunds (by line, by amount, all), packing, shipping, delivery, cancel,
// notes, the timeline and the shopper's chats. Every action goes through the staff API.
const $ = (x) => document.getElementById(x);
const number = $("order-root").dataset.number;
const base = `/api/staff/orders/${encodeURIComponent(number)}`;
let order = null;

const REFUNDABLE = ["paid", "fulfilled", "shipped", "delivered", "partially_refunded"];
const CANCELLABLE = ["pending_payment", "paid", "fulfilled"];

function say(text, ok = true) {
  $("order-message").className = ok ? "ok" : "error";
  $("order-message").textContent = text;
}

// points (a discount, before tax), store credit (a tender, after it)
const adjustmentRows = (o, kind) => o.adjustments.filter((a) => a.kind === kind).map((a) => [a.label, -a.amount_cents]);

function show(o) {
  order = o;
  const currency = o.currency.toUpperCase();
  const fmt = (c) => money(c, currency);
  $("order-status").textContent = o.status.replace(/_/g, " ");
  $("order-status").className = `badge status-${o.status}`;
  const who = [o.email, `placed ${new Date(o.created_at).toLocaleString()}`];
  if (o.paid_at) who.push(`paid ${new Date(o.paid_at).toLocaleString()}`);
  $("order-who").replaceChildren(
    o.user_id ? el("a", { href: `/admin/customers/${o.user_id}` }, who[0]) : who[0],
    ` · ${who.slice(1).join(" · ")}`,
  );
  $("order-lines").querySelector("tbody").replaceChildren(
    ...o.lines.map((l) => {
      const left = l.quantity - l.returned_quantity;
      return el(
        "tr",
        { dataset: { line: l.id } },
        el("td", { "data-label": "Item" }, l.name, Object.keys(l.options).length ? ` (${Object.values(l.options).join(", ")})` : ""),
        el("td", { "data-label": "SKU" }, l.sku),
        el("td", { "data-label": "Qty" }, String(l.quantity)),
        el("td", { "data-label": "Price" }, fmt(l.unit_price_cents)),
        el("td", { "data-label": "Total" }, fmt(l.line_total_cents)),
        el("td", { "data-label": "Returned" }, String(l.returned_quantity)),
        el(
          "td",
          { "data-label": "Refund qty" },
          el("input", { type: "number", min: 0, max: left, value: 0, class: "refund-qty", "aria-label": `Refund quantity of ${l.name}`, disabled: left === 0 }),
        ),
      );
    }),
  );
  const rows = [
    ["Subtotal", o.subtotal_cents],
    ["Discounts", -o.discount_cents],
    ...adjustmentRows(o, "discount"),
    ["Shipping", o.shipping_cents],
    ["Tax", o.tax_cents],
    ...adjustmentRows(o, "tender"),
    ["Total", o.total_cents],
    ["Refunded", -(o.refunded_cents + o.tenders_refunded_cents)],
  ];
  $("order-totals").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, fmt(v))]));
  const refundable = REFUNDABLE.includes(o.status) && o.refundable_cents > 0;
  $("refund-panel").hidden = !refundable;
  const shipped = Boolean(o.shipped_at);
  $("pack").hidden = !["paid", "partially_refunded"].includes(o.status) || shipped;
  $("ship-form").hidden = !["paid", "fulfilled", "partially_refunded"].includes(o.status) || shipped;
  $("deliver").hidden = !shipped || Boolean(o.delivered_at) || o.status === "refunded";
  $("cancel").hidden = !CANCELLABLE.includes(o.status);
  $("fulfil-state").textContent = o.delivered_at
    ? `Delivered ${new Date(o.delivered_at).toLocaleString()}`
    : shipped
      ? `Shipped with ${o.carrier || "a carrier"}, tracking ${o.tracking_number}`
      : o.status === "cancelled" ? "Cancelled" : "Not shipped yet";
  $("order-timeline").replaceChildren(
    ...o.timeline.map((e) =>
      el(
        "li",
        { class: e.kind === "note" ? "note" : "" },
        el("time", { datetime: e.at }, new Date(e.at).toLocaleString()),
        " ",
        e.kind === "status" ? `${e.from_status ? e.from_status.replace(/_/g, " ") + " → " : ""}${e.to_status.replace(/_/g, " ")}` : e.kind,
        e.note ? `: ${e.note}` : "",
        ` (${e.actor})`,
      ),
    ),
  );
}

async function chats(o) {
  if (!o.user_id) {
    $("order-chats").replaceChildren(el("li", { class: "muted" }, "A guest's order: no account to read chats from."));
    return;
  }
  const customer = await api(`/api/admin/customers/${o.user_id}`);
  $("order-chats").replaceChildren(
    ...(customer.conversations.length
      ? customer.conversations.map((c) =>
          el("li", {}, el("a", { href: `/console?conversation=${c.id}` }, `Conversation ${c.id}`), ` · ${c.status} · ${new Date(c.last_activity_at).toLocaleString()}`),
        )
      : [el("li", { class: "muted" }, "No conversations.")]),
  );
}

async function act(path, body, done) {
  try {
    show(await api(`${base}/${path}`, { method: "POST", body }));
    say(done);
    await refresh();
  } catch (err) {
    say(err.message, false);
  }
}

function refundBody(extra) {
  return { restock: $("refund-restock").checked, reason: $("refund-reason").value, ...extra };
}

$("refund-lines").addEventListener("click", () => {
  const lines = [...document.querySelectorAll("#order-lines tbody tr")]
    .map((tr) => ({ line_id: Number(tr.dataset.line), quantity: Number(tr.querySelector(".refund-qty").value) }))
    .filter((l) => l.quantity > 0);
  if (!lines.length) return say("Set a refund quantity on a line first.", false);
  act("refund", refundBody({ lines }), "Refunded the selected lines.");
});
$("refund-amount-button").addEventListener("click", () => {
  const cents = toMinorUnits($("refund-amount").value, currencyDigits(order.currency.toUpperCase()));
  if (!cents) return say("Type the amount to refund, like 12.50.", false);
  act("refund", refundBody({ amount_cents: cents }), `Refunded ${money(cents, order.currency.toUpperCase())}.`);
});
$("refund-all").addEventListener("click", () => {
  if (window.confirm("Refund everything that is left on this order?")) act("refund", refundBody({}), "Refunded in full.");
});
$("pack").addEventListener("click", () => act("fulfil", undefined, "Packed."));
$("ship-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const data = Object.fromEntries(new FormData(e.target));
  act("ship", data, `Shipped, tracking ${data.tracking_number}.`);
});
$("deliver").addEventListener("click", () => act("deliver", undefined, "Delivered."));
$("cancel").addEventListener("click", () => {
  const reason = window.prompt("Why is it cancelled?");
  if (reason !== null) act("cancel", { reason }, "Cancelled.");
});
$("note-form").addEventListener("submit", (e) => {
  e.preventDefault();
  act("notes", { text: e.target.elements.text.value }, "Note added.").then(() => e.target.reset());
});

async function refresh() {
  const o = await api(base);
  show(o);
  await chats(o);
}

refresh().catch((err) => say(err.message, false));
