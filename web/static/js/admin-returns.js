import { api, el } from "/static/js/api.js";

// Returns to handle: received (refund, restock or not) or rejected.
const body = document.querySelector("#returns tbody");
const message = document.getElementById("returns-message");

async function act(r, what, payload) {
  try {
    await api(`/api/staff/returns/${r.id}/${what}`, { method: "POST", body: payload });
    message.className = "ok";
    message.textContent = `${r.rma}: ${what === "receive" ? "received and refunded" : "rejected"}.`;
    await load();
  } catch (err) {
    message.className = "error";
    message.textContent = `${r.rma}: ${err.message}`;
  }
}

async function load() {
  const items = await api("/api/staff/returns?status=requested");
  body.replaceChildren(
    ...items.map((r) => {
      const restock = el("input", { type: "checkbox", checked: true, "aria-label": `Restock ${r.rma}` });
      return el(
        "tr",
        {},
        el("td", { "data-label": "Return" }, r.rma),
        el("td", { "data-label": "Order" }, r.order_number),
        el("td", { "data-label": "Items" }, r.lines.map((l) => `${l.quantity} x line ${l.line_id}`).join(", ")),
        el("td", { "data-label": "Reason" }, r.reason),
        el("td", { "data-label": "Asked" }, new Date(r.created_at).toLocaleString()),
        el(
          "td",
          {},
          el("label", {}, restock, " restock "),
          el("button", { type: "button", class: "primary", onclick: () => act(r, "receive", { restock: restock.checked }) }, "Received"),
          " ",
          el("button", { type: "button", onclick: () => act(r, "reject", { note: window.prompt("Why?") || "" }) }, "Reject"),
        ),
      );
    }),
  );
  document.getElementById("returns-empty").hidden = items.length > 0;
}

load().catch((err) => {
  message.className = "error";
  message.textContent = err.message;
});
