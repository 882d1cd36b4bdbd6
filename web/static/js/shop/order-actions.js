import { api } from "/static/js/api.js";

// The order page's own actions: cancel while it has not shipped.
for (const button of document.querySelectorAll("[data-cancel-order]")) {
  button.addEventListener("click", async () => {
    const message = document.getElementById("order-action-message");
    if (!window.confirm("Cancel this order? A paid order is refunded in full.")) return;
    button.disabled = true;
    try {
      const order = await api(`/api/orders/${encodeURIComponent(button.dataset.cancelOrder)}/cancel`, { method: "POST", body: {} });
      message.className = "ok";
      message.textContent = order.refunded_cents ? "Cancelled; the refund is on its way to your card." : "Cancelled.";
      window.setTimeout(() => window.location.reload(), 1200);
    } catch (err) {
      button.disabled = false;
      message.className = "error";
      message.textContent = err.message;
    }
  });
}
