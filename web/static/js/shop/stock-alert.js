import { api, el } from "/static/js/api.js";

// "Notify me" under the variants: offered while some variant is sold out (the stock figures move live, see
// live-stock.js), for the sold-out ones; a guest gives an email. One alert per variant and person: asking
// again is harmless.
const form = document.getElementById("stock-alert");
const variants = document.querySelector("#add-to-cart fieldset.variants");
const select = document.getElementById("stock-alert-variant");

function soldOut() {
  return [...document.querySelectorAll("[data-stock-variant]")]
    .filter((stock) => Number(stock.dataset.available || 0) <= 0)
    .map((stock) => ({
      id: stock.dataset.stockVariant,
      name: stock.closest("label")?.querySelector(".variant-name")?.textContent.trim() || `#${stock.dataset.stockVariant}`,
    }));
}

// opened from a search result's or a sold-out flash sale's "Notify me": the form is brought into view once
// the stock shows it, with the variant named in `?variant=` chosen
let pointedAt = window.location.hash === "#stock-alert";
const named = new URLSearchParams(window.location.search).get("variant");

function refresh() {
  const options = soldOut();
  const before = select.value;
  select.replaceChildren(...options.map((o) => el("option", { value: o.id }, o.name)));
  if (options.some((o) => o.id === before)) select.value = before;
  form.hidden = options.length === 0;
  if (pointedAt && !form.hidden) {
    pointedAt = false;
    if (options.some((o) => o.id === named)) select.value = named;
    afterLoad(() => {
      form.scrollIntoView({ block: "center" });
      (form.elements.email || select).focus();
    });
  }
}

// the browser's own jump to the #fragment on load would take the focus back
function afterLoad(then) {
  if (document.readyState === "complete") setTimeout(then);
  else window.addEventListener("load", () => setTimeout(then), { once: true });
}

if (form && variants) {
  new MutationObserver(refresh).observe(variants, { subtree: true, attributes: true, attributeFilter: ["data-available"] });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = document.getElementById("stock-alert-message");
    const body = { variant_id: Number(select.value) };
    const email = form.elements.email && form.elements.email.value.trim();
    if (email) body.email = email;
    try {
      await api("/api/stock-alerts", { method: "POST", body });
      message.className = "ok";
      message.textContent = "Done: we will tell you when it is back.";
    } catch (err) {
      message.className = "error";
      message.textContent = err.message;
    }
  });
  refresh();
}
