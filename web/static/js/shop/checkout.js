// Checkout: hold the cart's stock, take the address and shipping method, show the server's totals, pay.
// Every press of Pay sends a fresh Idempotency-Key; a network retry of the same press would reuse it.
import { ADDRESS_FIELDS, entryText, savedAddresses } from "/static/js/address-book.js";
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

function adjustmentRows(checkout, kind) {
  return (checkout.adjustments || [])
    .filter((a) => a.kind === kind)
    .flatMap((a) => [el("dt", { "data-adjustment": a.source }, a.label), el("dd", {}, "-" + money(a.amount_cents, cur()))]);
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
      // points (a discount, before tax) and store credit (a tender, after it), computed by the server
      adjustmentRows(checkout, "discount"),
      el("dt", {}, "Shipping"), el("dd", {}, checkout.shipping_method ? money(checkout.shipping_cents, cur()) : "—"),
      el("dt", {}, "Tax"), el("dd", {}, checkout.address ? money(checkout.tax_cents, cur()) : "—"),
      adjustmentRows(checkout, "tender"),
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
  fillAddress(checkout.address || {});
}

function fillAddress(address, { clear = false } = {}) {
  for (const name of ADDRESS_FIELDS) {
    if (address[name] || clear) details.elements[name].value = address[name] || "";
  }
}

// A signed-in shopper picks from their address book; the default fills a checkout that has no address yet.
async function offerSavedAddresses() {
  const picker = document.getElementById("saved-addresses");
  if (!picker) return;
  let book;
  try {
    book = await savedAddresses();
  } catch {
    return; // the form still works by hand
  }
  if (!book.length) return;
  picker.replaceChildren(
    el("option", { value: "" }, "A new address"),
    ...book.map((entry) => el("option", { value: String(entry.id) }, entryText(entry))),
  );
  document.getElementById("saved-addresses-field").hidden = false;
  picker.addEventListener("change", () => {
    const entry = book.find((e) => String(e.id) === picker.value);
    fillAddress(entry ? entry.address : {}, { clear: true });
  });
  if (checkout && !checkout.address) {
    picker.value = String(book[0].id);
    fillAddress(book[0].address);
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
    await offerSavedAddresses();
  } catch (err) {
    fail(err.message);
    summary.replaceChildren(el("p", {}, el("a", { href: "/cart" }, "Back to your cart")));
  }
}

// ---- the details form: every problem at once, next to its field, in words ------------------------------

const LABELS = {
  email: "Email",
  name: "Full name",
  line1: "Address",
  line2: "Apartment, suite",
  city: "City",
  region: "State / region",
  postal_code: "Postal code",
  country: "Country code",
  shipping_method: "Shipping method",
};
// what to say when a field is empty or not what the server takes (its own words are for developers)
const NEEDED = {
  email: "Enter your email address, like name@example.com.",
  name: "Enter the recipient's full name (up to 120 characters).",
  line1: "Enter the street address (up to 200 characters).",
  line2: "Shorten the apartment or suite (up to 200 characters).",
  city: "Enter the city or town (up to 100 characters).",
  region: "Enter the state or region (up to 60 characters).",
  postal_code: "Enter the postal code (up to 20 characters).",
  country: "Enter the two-letter country code, like US, GB or DE.",
  shipping_method: "Choose a shipping method.",
};
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const summaryBox = document.getElementById("details-summary");

function showProblems(problems) {
  for (const box of details.querySelectorAll("[data-error-for]")) {
    const message = problems[box.dataset.errorFor] || "";
    box.textContent = message;
    const input = details.elements[box.dataset.errorFor];
    if (input instanceof HTMLInputElement) input.setAttribute("aria-invalid", message ? "true" : "false");
  }
  const names = Object.keys(problems).filter((name) => LABELS[name]);
  summaryBox.hidden = !names.length;
  summaryBox.textContent = names.length === 1
    ? `Please check ${LABELS[names[0]]}.`
    : `Please check these ${names.length} fields: ${names.map((n) => LABELS[n]).join(", ")}.`;
  const first = names.map((name) => details.elements[name]).find((input) => input instanceof HTMLInputElement);
  if (first) first.focus();
}

function checkLocally(values) {
  const problems = {};
  if (!EMAIL.test(values.email)) problems.email = NEEDED.email;
  for (const name of ["name", "line1", "city", "postal_code"]) if (!values.address[name]) problems[name] = NEEDED[name];
  if (!/^[A-Za-z]{2}$/.test(values.address.country)) problems.country = NEEDED.country;
  for (const name of ADDRESS_FIELDS) {
    const input = details.elements[name];
    if (input.maxLength > 0 && values.address[name].length > input.maxLength) problems[name] = NEEDED[name];
  }
  if (!values.shipping_method) problems.shipping_method = NEEDED.shipping_method;
  return problems;
}

// The server's answer, field by field: validation errors carry `errors[].key` ("address.name"), the
// checkout's own rules a `field`.
function serverProblems(err) {
  const problems = {};
  for (const e of err.problem.errors || []) {
    const name = String(e.key || "").replace(/^address\./, "");
    if (LABELS[name]) problems[name] = NEEDED[name];
  }
  const field = String(err.problem.field || "").replace(/^address\./, "");
  if (LABELS[field]) problems[field] = err.message ? `${err.message.charAt(0).toUpperCase()}${err.message.slice(1)}.` : NEEDED[field];
  return problems;
}

details.addEventListener("submit", async (event) => {
  event.preventDefault();
  fail("");
  const f = details.elements;
  const address = {};
  for (const name of ADDRESS_FIELDS) address[name] = f[name].value.trim();
  address.country = address.country.toUpperCase();
  const chosen = details.querySelector('input[name="shipping_method"]:checked');
  const values = {
    email: f.email.value.trim(),
    address,
    shipping_method: chosen ? chosen.value : checkout.shipping_options[0]?.code,
  };
  const problems = checkLocally(values);
  showProblems(problems);
  if (Object.keys(problems).length) return;
  try {
    checkout = await api(`/api/checkout/${checkout.id}`, { method: "PATCH", body: values });
    renderSummary();
  } catch (err) {
    const found = serverProblems(err);
    if (Object.keys(found).length) showProblems(found);
    else fail(err.message);
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
