import { el } from "/static/js/api.js";
import { realtime } from "/static/js/realtime.js";

// Low-stock alerts for marketers and admins, on every page they have open: one note per variant that fell
// to its threshold (`stock.low_alert` on `stock-low`), linking to the stock room.
const box = document.getElementById("staff-alerts");
const shown = new Map();

function show(a) {
  shown.get(a.variant_id)?.remove();
  const options = Object.values(a.options || {}).join(" / ");
  const note = el(
    "div",
    { class: "staff-alert", dataset: { variant: a.variant_id } },
    el("strong", {}, a.available <= 0 ? "Sold out: " : "Low stock: "),
    el("a", { href: `/admin/stock?showing=${a.available <= 0 ? "out" : "low"}` }, `${a.product_name}${options ? ` (${options})` : ""}`),
    ` — ${Math.max(a.available, 0)} left`,
    a.waiting_signups ? `, ${a.waiting_signups} waiting` : "",
    a.suggested_reorder ? `; reorder about ${a.suggested_reorder}` : "",
    el("button", { type: "button", class: "link", "aria-label": "Dismiss", onclick: () => note.remove() }, "×"),
  );
  shown.set(a.variant_id, note);
  box.append(note);
}

realtime.subscribe("stock-low", (msg) => {
  if (msg.type !== "snapshot" && msg.event === "stock.low_alert") show(msg.data);
});
