// The marketing console's loyalty panel: leaderboard definitions (marketers), and for admins the rules,
// the liability report (Chart.js), referral reviews and balance adjustments.
import { api, el, money } from "/static/js/api.js";

const root = document.getElementById("loyalty-console");
const currency = root.dataset.currency;
const admin = root.dataset.admin === "true";
const $ = (sel) => root.querySelector(sel);
const METRICS = { points_earned: "Points earned", referrals_completed: "Referrals", flash_sale_purchases: "Flash sale purchases", category_spend: "Category spend" };

function problem(err) {
  const fields = (err.problem?.errors || []).map((e) => e.key).filter(Boolean);
  return fields.length ? `Please check: ${fields.join(", ")}` : err.message;
}

async function boards() {
  const rows = await api("/api/admin/leaderboards");
  $("[data-boards] tbody").replaceChildren(
    ...rows.map((b) =>
      el("tr", {}, el("td", {}, el("a", { href: `/leaderboards/${b.id}` }, b.name), b.active ? "" : " (off)"), el("td", {}, METRICS[b.metric]), el("td", {}, b.period),
        el("td", {}, b.show_names ? "shown" : "hidden"), el("td", {}, String(b.size)),
        el("td", {}, el("button", { type: "button", class: "link", onclick: async () => { await api(`/api/admin/leaderboards/${b.id}/rebuild`, { method: "POST" }); } }, "Rebuild"))),
    ),
  );
}

$("[data-board-form]").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.target.elements;
  const body = { name: f.name.value.trim(), metric: f.metric.value, period: f.period.value, size: Number(f.size.value) || 10, show_names: f.show_names.checked };
  if (f.starts_at.value) body.starts_at = new Date(f.starts_at.value).toISOString();
  if (f.ends_at.value) body.ends_at = new Date(f.ends_at.value).toISOString();
  if (f.flash_sale_id.value) body.flash_sale_id = Number(f.flash_sale_id.value);
  if (f.category_id.value) body.category_id = Number(f.category_id.value);
  try {
    await api("/api/admin/leaderboards", { method: "POST", body });
    $("[data-board-error]").textContent = "";
    event.target.reset();
    boards();
  } catch (err) {
    $("[data-board-error]").textContent = problem(err);
  }
});

let chart = null;
async function liability() {
  const unit = $("[data-liability-unit]").value;
  const report = await api(`/api/admin/loyalty/liability?unit=${unit}`);
  const fmt = (n) => (unit === "credit" ? money(n, currency) : n.toLocaleString());
  $("[data-liability] tbody").replaceChildren(
    ...report.months.map((m) =>
      el("tr", {}, el("td", {}, m.month), el("td", {}, fmt(m.earned)), el("td", {}, fmt(m.redeemed)), el("td", {}, fmt(m.reversed)),
        el("td", {}, fmt(m.expired)), el("td", {}, fmt(m.adjusted)), el("td", {}, fmt(m.outstanding)), el("td", {}, money(m.outstanding_value_cents, currency)))),
  );
  if (window.Chart) {
    const data = {
      labels: report.months.map((m) => m.month),
      datasets: [
        { type: "bar", label: "Earned", data: report.months.map((m) => m.earned) },
        { type: "bar", label: "Redeemed", data: report.months.map((m) => m.redeemed) },
        { type: "line", label: "Outstanding", data: report.months.map((m) => m.outstanding) },
      ],
    };
    if (chart) chart.destroy();
    chart = new window.Chart($("[data-liability-chart]"), { type: "bar", data, options: { animation: false, responsive: true } });
  }
}

async function held() {
  const rows = await api("/api/admin/referrals?status=held&limit=100");
  $("[data-held-empty]").hidden = rows.length > 0;
  $("[data-held] tbody").replaceChildren(
    ...rows.map((r) => {
      const reason = el("input", { placeholder: "Reason", maxlength: "300", "aria-label": `Reason for referral ${r.id}` });
      const decide = (decision) => async () => {
        try {
          await api(`/api/admin/referrals/${r.id}/review`, { method: "POST", body: { decision, reason: reason.value } });
          held();
        } catch (err) {
          reason.setCustomValidity(problem(err));
          reason.reportValidity();
        }
      };
      return el("tr", {}, el("td", {}, String(r.id)), el("td", {}, `#${r.referrer_id}`), el("td", {}, r.referee_email), el("td", {}, r.flags.join(", ")),
        el("td", {}, r.order_id ? `order #${r.order_id}` : "—"),
        el("td", {}, reason, el("button", { type: "button", onclick: decide("approve") }, "Approve"), el("button", { type: "button", onclick: decide("reject") }, "Reject")));
    }),
  );
}

$("[data-adjust-form]")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.target.elements;
  try {
    const entry = await api("/api/admin/loyalty/adjustments", {
      method: "POST",
      body: { user_id: Number(f.user_id.value), unit: f.unit.value, amount: Number(f.amount.value), reason: f.reason.value, key: crypto.randomUUID() },
    });
    $("[data-adjust-result]").textContent = `Done: ${entry.amount > 0 ? "+" : ""}${entry.amount} (${entry.note}).`;
    liability();
  } catch (err) {
    $("[data-adjust-result]").textContent = problem(err);
  }
});

// the rules form: one input per number or switch; lists (tiers, milestones) as JSON
let rules = null;
async function rulesForm() {
  rules = await api("/api/admin/loyalty/rules");
  const fields = Object.entries(rules).map(([name, value]) => {
    const label = name.replaceAll("_", " ");
    if (typeof value === "boolean") return el("label", { class: "check" }, el("input", { type: "checkbox", name, checked: value }), ` ${label}`);
    if (typeof value === "number") return el("label", {}, label, el("input", { type: "number", name, value: String(value), min: "0" }));
    if (typeof value === "string") return el("label", {}, label, el("input", { name, value }));
    return el("label", { class: "wide" }, label, el("textarea", { name, rows: "4" }, JSON.stringify(value, null, 1)));
  });
  $("[data-rules-fields]").replaceChildren(...fields);
}

$("[data-rules-form]")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = {};
  try {
    for (const [name, value] of Object.entries(rules)) {
      const input = event.target.elements[name];
      if (typeof value === "boolean") body[name] = input.checked;
      else if (typeof value === "number") body[name] = Number(input.value);
      else if (typeof value === "string") body[name] = input.value;
      else body[name] = JSON.parse(input.value);
    }
    rules = await api("/api/admin/loyalty/rules", { method: "PUT", body });
    $("[data-rules-error]").textContent = "Saved.";
  } catch (err) {
    $("[data-rules-error]").textContent = err instanceof SyntaxError ? `Not JSON: ${err.message}` : problem(err);
  }
});

boards();
if (admin) {
  $("[data-liability-unit]").addEventListener("change", liability);
  liability();
  held();
  rulesForm();
}
