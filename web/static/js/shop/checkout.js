// Checkout: hold the cart's stock, take the address and shipping method, show the server's totals, pay.
// Every press of Pay sends a fresh Idempotency-Key; a network retry of the same press would reuse it.
import { api, el, money } from "/static/js/api.js";

const root = document.getElementById("checkout");
const details = document.getElementById("details");
const payment = document.getElementById("payment");
const threeDs = document.getElementById("three-ds");
const errorBox = document.getElementById("checkout-error");
const summary = document.getElementById("summary");
let checkout = null;

function fail(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

function cur(c) {
  return (c || checkout.currency).toUpperCase();
}

function renderSummary() {
  const rows = checkout.lines.map((line) =>
    el("li", { "data-product": line.product_handle },
      `${line.quantity} × ${line.name} `, el("span", { class: "muted" }, Object.values(line.options).join(" · ")),
      el("span", { class: "spacer" }), money(line.line_total_cents, cur()),
      line.discount_label ? el("span", { class: "badge sale" }, line.discount_label) : null));
  const held = new Date(checkout.expires_at);
  summary.replaceChildren(
    el("h2", {}, "Your order"),
    el("ul", { class: "summary-lines" }, rows),
    el("dl", { class: "totals" },
      el("dt", {}, "Subtotal"), el("dd", {}, money(checkout.subtotal_cents, cur())),
      checkout.discount_cents ? [el("dt", {}, "Discounts"), el("dd", {}, "-" + money(checkout.discount_cents, cur()))] : null,
      el("dt", {}, "Shipping"), el("dd", {}, checkout.shipping_method ? money(checkout.shipping_cents, cur()) : "—"),
      el("dt", {}, "Tax"), el("dd", {}, checkout.address ? money(checkout.tax_cents, cur()) : "—"),
      // points and store credit, computed by the server (the card is charged only the rest)
      (checkout.adjustments || []).map((a) => [el("dt", { "data-adjustment": a.source }, a.label), el("dd", {}, "-" + money(a.amount_cents, cur()))]),
      el("dt", { class: "grand" }, "Total"), el("dd", { class: "grand", "data-total": checkout.total_cents }, money(checkout.total_cents, cur()))),
    el("p", { class: "muted" }, `Your items are held until ${held.toLocaleTimeString()}.`),
  );
  const options = document.getElementById("shipping-options");
  options.replaceChildren(
    ...checkout.shipping_options.map((o) =>
      el("label", { class: "check" },
        el("input", { type: "radio", name: "shipping_method", value: o.code, checked: checkout.shipping_method === o.code }),
        ` ${o.label}: ${money(o.cents, cur())} (${o.delivery_days[0]}–${o.delivery_days[1]} business days)`)),
  );
  payment.hidden = !checkout.ready_to_pay;
  const card = payment.elements.card;
  card.required = checkout.total_cents > 0;
  card.closest("label").hidden = checkout.total_cents === 0; // covered by store credit or points: no card
  root.dispatchEvent(new CustomEvent("checkout:changed", { detail: checkout }));
}

// other parts of the page (points and store credit) changed what applies: show the server's totals again
root.addEventListener("checkout:reload", async () => {
  if (!checkout) return;
  try {
    checkout = await api(`/api/checkout/${checkout.id}`);
    renderSummary();
  } catch (err) {
    fail(err.message);
  }
});

function fill() {
  details.elements.email.value = checkout.email || details.elements.email.value;
  const address = checkout.address || {};
  for (const name of ["name", "line1", "line2", "city", "region", "postal_code", "country"]) {
    if (address[name]) details.elements[name].value = address[name];
  }
}

async function start() {
  try {
    checkout = root.dataset.checkout
      ? await api(`/api/checkout/${encodeURIComponent(root.dataset.checkout)}`)
      : await api("/api/checkout", { method: "POST" });
    history.replaceState(null, "", `/checkout?id=${encodeURIComponent(checkout.id)}`);
    fill();
    renderSummary();
  } catch (err) {
    fail(err.message);
    summary.replaceChildren(el("p", {}, el("a", { href: "/cart" }, "Back to your cart")));
  }
}

details.addEventListener("submit", async (event) => {
  event.preventDefault();
  fail("");
  const f = details.elements;
  const address = {};
  for (const name of ["name", "line1", "line2", "city", "region", "postal_code", "country"]) address[name] = f[name].value.trim();
  const chosen = details.querySelector('input[name="shipping_method"]:checked');
  try {
    checkout = await api(`/api/checkout/${checkout.id}`, {
      method: "PATCH",
      body: { email: f.email.value.trim(), address, shipping_method: chosen ? chosen.value : checkout.shipping_options[0].code },
    });
    renderSummary();
  } catch (err) {
    const fields = (err.problem.errors || []).map((e) => e.key).filter(Boolean);
    fail(fields.length ? `Please check: ${fields.join(", ")}` : err.message);
  }
});

function finish(outcome) {
  threeDs.hidden = true;
  if (outcome.status === "paid") {
    window.location.assign(`/orders/${outcome.order_number}?paid=1`);
  } else if (outcome.status === "requires_action") {
    threeDs.hidden = false;
  } else if (outcome.status === "processing") {
    fail("Your payment is being processed; check your orders in a moment.");
  } else {
    fail(outcome.message || "The payment did not go through. Try another card.");
    payment.querySelector("[data-pay]").disabled = false;
  }
}

payment.addEventListener("submit", async (event) => {
  event.preventDefault();
  fail("");
  const button = payment.querySelector("[data-pay]");
  button.disabled = true;
  const raw = payment.elements.card.value.trim();
  const method = checkout.total_cents === 0 ? "" : root.dataset.provider === "test" ? `card:${raw.replace(/\s+/g, "")}` : raw;
  try {
    finish(await api(`/api/checkout/${checkout.id}/pay`, {
      method: "POST",
      headers: { "Idempotency-Key": crypto.randomUUID() },
      body: { payment_method: method, expected_total_cents: checkout.total_cents },
    }));
  } catch (err) {
    if (err.problem.code === "price_changed") checkout = await api(`/api/checkout/${checkout.id}`);
    if (checkout) renderSummary();
    fail(err.message);
    button.disabled = false;
  }
});

for (const button of threeDs.querySelectorAll("[data-authenticate]")) {
  button.addEventListener("click", async () => {
    try {
      finish(await api(`/api/checkout/${checkout.id}/authenticate`, {
        method: "POST", body: { success: button.dataset.authenticate === "true" },
      }));
    } catch (err) {
      fail(err.message);
    }
  });
}

start();
