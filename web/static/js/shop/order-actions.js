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

// Returns: choose how many of each line, then follow the instructions (the return's number on the parcel).
const returns = document.querySelector("[data-returns]");
if (returns) {
  const number = encodeURIComponent(returns.dataset.returns);
  const list = document.getElementById("return-list");
  const show = (items) =>
    list.replaceChildren(
      ...items.map((r) => {
        const li = document.createElement("li");
        li.textContent = `${r.rma}: ${r.status}. ${r.status === "requested" ? r.instructions : r.note || ""}`;
        return li;
      }),
    );
  api(`/api/orders/${number}/returns`).then(show).catch(() => undefined);
  document.getElementById("return-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const lines = [...form.querySelectorAll("[data-line]")]
      .map((input) => ({ line_id: Number(input.dataset.line), quantity: Number(input.value) }))
      .filter((line) => line.quantity > 0);
    try {
      await api(`/api/orders/${number}/returns`, { method: "POST", body: { lines, reason: form.elements.reason.value } });
      form.reset();
      show(await api(`/api/orders/${number}/returns`));
    } catch (err) {
      const li = document.createElement("li");
      li.className = "error";
      li.textContent = err.message;
      list.prepend(li);
    }
  });
}
