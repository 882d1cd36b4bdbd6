// Product page: add the chosen variant to the cart; sold-out variants cannot be chosen (live).
import { api } from "/static/js/api.js";

const form = document.getElementById("add-to-cart");
const message = document.getElementById("cart-message");

function refreshChoices() {
  for (const input of form.querySelectorAll('input[name="variant_id"]')) {
    const stock = form.querySelector(`[data-stock-variant="${input.value}"]`);
    const available = stock && stock.dataset.available !== "" ? Number(stock.dataset.available) : 0;
    input.disabled = !(available > 0);
    if (input.disabled && input.checked) input.checked = false;
  }
  const chosen = form.querySelector('input[name="variant_id"]:checked');
  if (!chosen) {
    const first = form.querySelector('input[name="variant_id"]:not(:disabled)');
    if (first) first.checked = true;
  }
  form.querySelector("[data-add]").disabled = !form.querySelector('input[name="variant_id"]:checked');
}

if (form) {
  refreshChoices();
  document.addEventListener("live-product", refreshChoices);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = form.querySelector('input[name="variant_id"]:checked');
    if (!chosen) return;
    const quantity = Number(form.elements.quantity.value) || 1;
    message.classList.remove("error");
    try {
      const cart = await api("/api/cart/lines", { method: "POST", body: { variant_id: Number(chosen.value), quantity } });
      message.replaceChildren(`Added. ${cart.item_count} item${cart.item_count === 1 ? "" : "s"} in your cart — `);
      const link = document.createElement("a");
      link.href = "/cart";
      link.textContent = "view cart";
      message.append(link);
    } catch (err) {
      message.textContent = err.message;
      message.classList.add("error");
    }
  });
}
