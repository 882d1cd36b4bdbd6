import { api, el, money } from "/static/js/api.js";

// One customer: who they are, their orders and lifetime spend, conversations, points and credit, consent
// and preferences, privacy requests (an admin may carry out a pending erasure now).
const $ = (x) => document.getElementById(x);
const root = $("customer-root");
const id = Number(root.dataset.userId);
const currency = root.dataset.currency || "USD";

function facts(target, pairs) {
  $(target).replaceChildren(...pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function show(c) {
  $("customer-name").textContent = c.name || c.email;
  facts("customer-facts", [
    ["Email", c.email],
    ["Joined", new Date(c.joined_at).toLocaleDateString()],
    ["Last sign-in", c.last_login_at ? new Date(c.last_login_at).toLocaleString() : "never"],
    ["Account", c.active ? "active" : "closed"],
    ["Paid orders", String(c.orders)],
    ["Lifetime spend", money(c.spent_cents, currency)],
  ]);
  $("customer-orders").querySelector("tbody").replaceChildren(
    ...c.recent_orders.map((o) =>
      el(
        "tr",
        {},
        el("td", { "data-label": "Order" }, el("a", { href: `/admin/orders/${encodeURIComponent(o.number)}` }, o.number)),
        el("td", { "data-label": "Placed" }, new Date(o.created_at).toLocaleString()),
        el("td", { "data-label": "State" }, o.status.replace(/_/g, " ")),
        el("td", { "data-label": "Total" }, money(o.total_cents, o.currency.toUpperCase())),
      ),
    ),
  );
  $("customer-chats").replaceChildren(
    ...(c.conversations.length
      ? c.conversations.map((v) => el("li", {}, el("a", { href: `/console?conversation=${v.id}` }, `Conversation ${v.id}`), ` · ${v.status} · with ${v.assignee_name || v.owner}`))
      : [el("li", { class: "muted" }, "No conversations.")]),
  );
  const points = c.loyalty.points;
  facts("customer-loyalty", [
    ["Points", String(points.balance)],
    ["Pending", String(points.pending)],
    ["Tier", points.tier ? points.tier.name : "—"],
    ["Store credit", money(c.loyalty.credit.balance_cents, currency)],
  ]);
  const prefs = c.preferences;
  $("customer-consent").replaceChildren(
    el("li", {}, prefs.marketing_unsubscribed ? "Unsubscribed from marketing" : "Accepts marketing where each topic allows"),
    ...Object.entries(prefs.topics).map(([topic, channels]) =>
      el("li", {}, `${topic.replace(/_/g, " ")}: ${Object.entries(channels).filter(([, on]) => on).map(([ch]) => ch).join(", ") || "off"}`),
    ),
    prefs.quiet_hours ? el("li", {}, `Quiet hours ${prefs.quiet_hours.start}–${prefs.quiet_hours.end}`) : "",
  );
  $("customer-privacy").replaceChildren(
    ...(c.privacy_requests.length
      ? c.privacy_requests.map((r) =>
          el(
            "li",
            {},
            `${r.kind} · ${r.status} · asked ${new Date(r.requested_at).toLocaleString()}`,
            r.status === "pending" && root.dataset.admin
              ? el("button", { type: "button", class: "danger", onclick: () => erase(r) }, "Erase now")
              : "",
          ),
        )
      : [el("li", { class: "muted" }, "None.")]),
  );
}

async function erase(r) {
  if (!window.confirm("Erase this customer's personal data now? This cannot be undone.")) return;
  try {
    await api(`/api/admin/privacy/requests/${r.id}/erase`, { method: "POST" });
    await refresh();
  } catch (err) {
    fail(err);
  }
}

function fail(err) {
  $("customer-error").textContent = err.message;
  $("customer-error").hidden = false;
}

async function refresh() {
  show(await api(`/api/admin/customers/${id}`));
}

refresh().catch(fail);
