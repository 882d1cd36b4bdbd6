import { api, el, money } from "/static/js/api.js";

// Customers: search by email or name, newest accounts first, keyset pages.
const $ = (x) => document.getElementById(x);
const form = $("customer-filter");
const body = document.querySelector("#customers tbody");
const currency = $("customers-root").dataset.currency || "USD";
let next = null;

async function load(more = false) {
  $("customers-error").hidden = true;
  try {
    const params = new URLSearchParams({ q: form.elements.q.value });
    if (more && next) params.set("before", next);
    const page = await api(`/api/admin/customers?${params}`);
    const rows = page.items.map((c) =>
      el(
        "tr",
        {},
        el("td", { "data-label": "Customer" }, el("a", { href: `/admin/customers/${c.id}` }, c.name || c.email), c.name ? el("div", { class: "muted" }, c.email) : ""),
        el("td", { "data-label": "Joined" }, new Date(c.joined_at).toLocaleDateString()),
        el("td", { "data-label": "Orders" }, String(c.orders)),
        el("td", { "data-label": "Spent" }, money(c.spent_cents, currency)),
        el("td", { "data-label": "Last order" }, c.last_order_at ? new Date(c.last_order_at).toLocaleDateString() : "—"),
      ),
    );
    if (more) body.append(...rows);
    else body.replaceChildren(...rows);
    next = page.next_before;
    $("customers-more").hidden = !next;
  } catch (err) {
    $("customers-error").textContent = err.message;
    $("customers-error").hidden = false;
  }
}

// admins: pending erasure requests, each linked to its customer, with "Erase now"
async function privacyQueue() {
  if (!$("customers-root").dataset.admin) return;
  const pending = await api("/api/admin/privacy/requests?status=pending");
  $("privacy-queue").hidden = false;
  $("privacy-pending").replaceChildren(
    ...(pending.length
      ? pending.map((r) =>
          el(
            "li",
            {},
            el("a", { href: `/admin/customers/${r.user_id}` }, `Customer ${r.user_id}`),
            ` · ${r.kind} · asked ${new Date(r.requested_at).toLocaleString()} `,
            el("button", { type: "button", class: "danger", onclick: () => erase(r) }, "Erase now"),
          ),
        )
      : [el("li", { class: "muted" }, "None pending.")]),
  );
}

async function erase(r) {
  if (!window.confirm(`Erase customer ${r.user_id}'s personal data now? This cannot be undone.`)) return;
  try {
    await api(`/api/admin/privacy/requests/${r.id}/erase`, { method: "POST" });
    await Promise.all([privacyQueue(), load()]);
  } catch (err) {
    $("customers-error").textContent = err.message;
    $("customers-error").hidden = false;
  }
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  load();
});
$("customers-more").addEventListener("click", () => load(true));
load();
privacyQueue().catch((err) => {
  $("customers-error").textContent = err.message;
  $("customers-error").hidden = false;
});
