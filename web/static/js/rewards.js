// The shopper's rewards page: points (balance, pending, tier, expiring, history), store credit, the
// referral link, the leaderboard name. Balances stay live: `loyalty.balance` on the shopper's user channel.
import { realtime } from "/static/js/realtime.js";
import { api, el, money } from "/static/js/api.js";

const root = document.getElementById("rewards");
const currency = root.dataset.currency;
const $ = (sel) => root.querySelector(sel);
const KINDS = { pending: "Pending", earned: "Earned", redeemed: "Used", reversed: "Reversed", expired: "Expired", adjusted: "Adjusted" };

function fail(message) {
  const box = $("[data-rewards-error]");
  box.textContent = message;
  box.hidden = !message;
}

function renderPoints(p) {
  $("[data-points-balance]").textContent = p.balance.toLocaleString();
  $("[data-points-value]").textContent = p.balance > 0 ? `(worth ${money(p.value_cents, currency)})` : "";
  $("[data-points-pending]").textContent = p.pending ? `${p.pending.toLocaleString()} pending: spendable once the return period ends.` : "";
  const t = p.tier;
  $("[data-tier]").textContent = t
    ? `${t.name}: ${t.points_per_unit} ${t.points_per_unit === 1 ? "point" : "points"} per ${money(100, currency)}` + (t.next_name ? ` · ${t.next_name} at ${t.basis === "spend" ? money(t.next_threshold, currency) : t.next_threshold.toLocaleString() + " points"} (you: ${t.basis === "spend" ? money(t.value, currency) : t.value.toLocaleString()} this year)` : "")
    : "";
  $("[data-expiring]").replaceChildren(
    ...(p.expiring.length ? p.expiring.map((e) => el("li", {}, `${e.amount.toLocaleString()} on ${new Date(e.on).toLocaleDateString()}`)) : [el("li", { class: "muted" }, "Nothing expires soon.")]),
  );
  if (p.birthday) {
    const [m, d] = p.birthday.split("-");
    const form = $("[data-birthday-form]");
    form.elements.month.value = Number(m);
    form.elements.day.value = Number(d);
  }
}

async function refresh() {
  try {
    const [points, credit, ledger] = await Promise.all([api("/api/loyalty"), api("/api/store-credit"), api("/api/loyalty/ledger?limit=30")]);
    renderPoints(points);
    $("[data-credit-balance]").textContent = money(credit.balance_cents, currency);
    $("[data-history]").replaceChildren(
      ...ledger.entries.map((e) =>
        el("tr", {}, el("td", {}, new Date(e.created_at).toLocaleDateString()), el("td", {}, KINDS[e.kind] || e.kind),
          el("td", { class: e.amount < 0 ? "neg" : "pos" }, (e.amount > 0 ? "+" : "") + e.amount.toLocaleString()), el("td", {}, e.note))),
    );
  } catch (err) {
    fail(err.message);
  }
}

async function referral() {
  const r = await api("/api/referrals/me");
  $("[data-referral-link]").value = r.link;
  $("[data-referral-code]").textContent = r.code;
  const reward = (n) => (r.reward === "credit" ? money(n, currency) : `${n.toLocaleString()} points`);
  $("[data-referral-terms]").textContent = `A friend who signs up with your link gets ${reward(r.referee_reward)} after their first order; so do you (${reward(r.referrer_reward)}).`;
  $("[data-referral-counts]").textContent = `${r.rewarded} rewarded · ${r.qualifying} on their way · ${r.signed_up} signed up`;
}

$("[data-copy-link]").addEventListener("click", () => navigator.clipboard?.writeText($("[data-referral-link]").value));

$("[data-birthday-form]").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.target.elements;
  try {
    renderPoints(await api("/api/loyalty/birthday", { method: "PUT", body: { month: Number(f.month.value), day: Number(f.day.value) } }));
    fail("");
  } catch (err) {
    fail(err.message);
  }
});

const profile = $("[data-profile-form]");
profile.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api("/api/leaderboards/profile", { method: "PUT", body: { display_name: profile.elements.display_name.value, anonymous: profile.elements.anonymous.checked } });
    fail("");
  } catch (err) {
    fail(err.message);
  }
});

(async () => {
  await Promise.all([refresh(), referral().catch((err) => fail(err.message))]);
  const p = await api("/api/leaderboards/profile");
  profile.elements.display_name.value = p.display_name;
  profile.elements.anonymous.checked = p.anonymous;
  const me = await api("/api/auth/me");
  if (me.user_id) {
    let timer = null;
    realtime.subscribe(`user:${me.user_id}`, (msg) => {
      if (msg.event !== "loyalty.balance") return;
      clearTimeout(timer);
      timer = setTimeout(refresh, 150);
    });
  }
})();
