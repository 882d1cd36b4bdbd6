// The cart page: lines with current price and availability, quantity changes, on to checkout.
import { api, el, money } from "/static/js/api.js";

const root = document.getElementById("cart");
const currency = (root.dataset.currency || "usd").toUpperCase();

function stockLine(line) {
  if (!line.purchasable) return el("span", { class: "stock out" }, "No longer sold");
  const text = line.available <= 0 ? "Sold out" : line.available <= 5 ? `Only ${line.available} left` : "In stock";
  return el("span", { class: "stock", "data-stock-variant": line.variant_id }, text);
}

// The unit price the shopper pays: the catalog's (kept live by live-stock.js), or, when an offer (a flash
// sale's held unit) prices some units, the offer's price beside the struck-through regular one.
function priceCell(line) {
  const regular = money(line.unit_price_cents, currency);
  const units = line.discounted_units || 0;
  if (!line.discount_cents || !units || line.discount_cents % units !== 0) {
    return el("td", { class: "price", "data-price-variant": line.variant_id }, regular);
  }
  const offered = money(line.unit_price_cents - line.discount_cents / units, currency);
  if (units >= line.quantity) {
    return el("td", { class: "price", "data-offer-price": true }, el("span", { class: "sale" }, offered), el("s", {}, regular));
  }
  return el(
    "td",
    { class: "price", "data-offer-price": true },
    el("span", { class: "sale" }, `${units} × ${offered}`),
    el("br"),
    el("span", { class: "muted" }, `${line.quantity - units} × ${regular}`),
  );
}

async function change(variantId, quantity) {
  try {
    render(await api(`/api/cart/lines/${variantId}`, { method: "PUT", body: { quantity } }));
  } catch (err) {
    show(err.message);
  }
}

function show(message) {
  let box = root.querySelector("[data-cart-error]");
  if (!box) {
    box = el("p", { class: "error", role: "alert", "data-cart-error": true });
    root.prepend(box);
  }
  box.textContent = message;
}

function render(cart) {
  if (!cart.lines.length) {
    root.replaceChildren(el("p", { class: "muted" }, "Your cart is empty. ", el("a", { href: "/" }, "Browse the shop")));
    return;
  }
  const rows = cart.lines.map((line) =>
    el(
      "tr",
      { "data-product": line.product_handle, "data-variant": line.variant_id },
      el("td", {}, el("a", { href: `/products/${line.product_handle}` }, line.name), " ",
        el("span", { class: "muted" }, Object.values(line.options).join(" · ") || line.sku), el("br"), stockLine(line)),
      priceCell(line),
      el("td", {},
        el("input", {
          type: "number", min: "0", max: "99", value: line.quantity, "aria-label": `Quantity of ${line.name}`,
          onchange: (e) => change(line.variant_id, Math.max(0, Number(e.target.value) || 0)),
        })),
      el("td", {}, money(line.line_total_cents, currency),
        line.discount_label ? el("span", { class: "badge sale" }, line.discount_label) : null),
      el("td", {}, el("button", { type: "button", class: "link", onclick: () => change(line.variant_id, 0) }, "Remove")),
    ),
  );
  const problems = cart.problems.length ? el("ul", { class: "error" }, cart.problems.map((p) => el("li", {}, p))) : null;
  root.replaceChildren(
    el("table", { class: "card cart-lines" },
      el("thead", {}, el("tr", {}, ["Item", "Price", "Qty", "Total", ""].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows)),
    el("aside", { class: "card summary" },
      el("dl", { class: "totals" },
        el("dt", {}, "Subtotal"), el("dd", {}, money(cart.subtotal_cents, currency)),
        cart.discount_cents ? [el("dt", {}, "Discounts"), el("dd", {}, "-" + money(cart.discount_cents, currency))] : null,
        el("dt", { class: "grand" }, "Total"), el("dd", { class: "grand", "data-cart-total": true }, money(cart.total_cents, currency))),
      el("p", { class: "muted" }, "Shipping and tax are added at checkout."),
      problems,
      el("a", { class: "button primary", href: "/checkout", "data-checkout": true,
        "aria-disabled": cart.problems.length ? "true" : null }, "Check out")),
  );
}

api("/api/cart").then(render).catch((err) => show(err.message));
