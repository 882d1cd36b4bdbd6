// Product cards: keep each card's stock line true as live stock arrives (live-stock.js fills the hidden
// per-variant elements and announces "live-product"); the sort select applies at once.
function summarize(card) {
  const known = [...card.querySelectorAll("[data-stock-variant]")].filter((el) => el.dataset.available !== undefined);
  if (!known.length) return;
  const inStock = known.some((el) => Number(el.dataset.available) > 0);
  const line = card.querySelector("[data-stock-summary]");
  line.textContent = inStock ? "In stock" : "Sold out";
  line.classList.toggle("out", !inStock);
}

document.addEventListener("live-product", (event) => {
  for (const card of document.querySelectorAll(`.product-card[data-product="${CSS.escape(event.detail.handle)}"]`)) {
    summarize(card);
  }
});

const filters = document.getElementById("shop-filters");
if (filters) {
  filters.querySelector('select[name="sort"]').addEventListener("change", () => filters.requestSubmit());
  filters.addEventListener("submit", () => {
    for (const input of filters.querySelectorAll("input, select")) {
      if (!input.value || (input.type === "checkbox" && !input.checked)) input.disabled = true; // clean URLs
    }
  });
}
