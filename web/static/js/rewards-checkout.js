// Points and store credit on the checkout page ([data-checkout-rewards]): what the shopper wants to use is
// sent to the server (PUT /api/loyalty/checkouts/{id}); the server computes the lines, and checkout.js shows
// its totals again (the `checkout:reload` event). Signed-in shoppers with points or credit only.
import { api, el, money } from "/static/js/api.js";

const root = document.getElementById("checkout");
const box = document.querySelector("[data-checkout-rewards]");
let loaded = null; // {points summary, credit}
let current = null;

async function load() {
  try {
    const me = await api("/api/auth/me");
    if (!me.authenticated) return null;
    const [points, credit] = await Promise.all([api("/api/loyalty"), api("/api/store-credit")]);
    return { points, credit };
  } catch {
    return null;
  }
}

async function choose(body) {
  try {
    await api(`/api/loyalty/checkouts/${encodeURIComponent(current.id)}`, { method: "PUT", body });
    root.dispatchEvent(new CustomEvent("checkout:reload"));
  } catch (err) {
    box.querySelector("[data-rewards-error]").textContent = err.message;
  }
}

function render() {
  const { points, credit } = loaded;
  const cur = current.currency.toUpperCase();
  const used = Object.fromEntries((current.adjustments || []).map((a) => [a.source, a]));
  const parts = [el("h2", {}, "Rewards")];
  if (points.balance >= points.redeem_minimum && points.can_redeem) {
    const input = el("input", { type: "number", name: "points", min: "0", step: "1", max: String(points.balance), value: String(used["loyalty.points"]?.data?.points || points.redeem_minimum), "aria-label": "Points to use" });
    parts.push(
      el("p", { class: "muted" }, `You have ${points.balance.toLocaleString()} points (${points.redeem_points_per_unit} points = ${money(100, cur)}; at least ${points.redeem_minimum}).`),
      el("div", { class: "row" }, input,
        el("button", { type: "button", onclick: () => choose({ points: Number(input.value) || 0 }) }, "Use points"),
        used["loyalty.points"] ? el("button", { type: "button", class: "link", onclick: () => choose({ points: 0 }) }, "Remove") : null),
    );
  }
  if (credit.balance_cents > 0) {
    const box = el("input", { type: "checkbox", name: "use_credit", checked: Boolean(used.store_credit), onchange: (e) => choose({ use_credit: e.target.checked }) });
    parts.push(el("label", { class: "check" }, box, ` Use my store credit (${money(credit.balance_cents, cur)})`));
  }
  parts.push(el("p", { class: "error", role: "alert", dataset: { rewardsError: "" } }));
  box.replaceChildren(...parts);
  box.hidden = parts.length <= 2;
}

if (root && box) {
  root.addEventListener("checkout:changed", async (event) => {
    current = event.detail;
    if (current.status !== "open") {
      box.hidden = true;
      return;
    }
    loaded = loaded || (await load());
    if (loaded) render();
  });
}
