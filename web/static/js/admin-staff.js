import { api, el } from "/static/js/api.js";
import { currencyDigits, fromMinorUnits, toMinorUnits } from "/static/js/money.js";

// Admins: the staff roles that need two-factor sign-in, and each member's refund permission. Both are
// sensitive: the server asks the admin to confirm it's them (api.js shows the dialog).
const $ = (id) => document.getElementById(id);
const rolesForm = $("tf-roles");
const currency = $("staff-section").dataset.currency || "USD";
const digits = currencyDigits(currency);

function fail(err) {
  $("staff-error").textContent = err.message;
  $("staff-error").hidden = false;
}

function showRoles(choices) {
  for (const box of rolesForm.elements.role) box.checked = box.value === "admin" || choices.two_factor_roles.includes(box.value);
}

rolesForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  $("staff-error").hidden = true;
  const roles = [...rolesForm.elements.role].filter((b) => b.checked && !b.disabled).map((b) => b.value);
  try {
    showRoles(await api("/api/admin/security", { method: "PUT", body: { two_factor_roles: roles } }));
    $("tf-roles-status").textContent = "Saved.";
  } catch (err) {
    fail(err);
  }
});

function memberRow(m) {
  const admin = m.role === "admin";
  const allowed = el("input", { type: "checkbox", "aria-label": `${m.email} may refund`, ...(m.can_refund ? { checked: true } : {}), ...(admin ? { disabled: true } : {}) });
  const limit = el("input", { inputmode: "decimal", autocomplete: "off", placeholder: "no limit", "aria-label": `Refund limit of ${m.email}`,
    value: m.refund_limit_cents === null ? "" : fromMinorUnits(m.refund_limit_cents, digits), ...(admin ? { disabled: true } : {}) });
  const status = el("span", { class: "muted", role: "status" });
  const save = el("button", { type: "button", ...(admin ? { hidden: true } : {}) }, "Save");
  save.addEventListener("click", async () => {
    $("staff-error").hidden = true;
    const text = limit.value.trim();
    const cents = text === "" ? null : toMinorUnits(text, digits);
    if (text !== "" && (cents === null || cents < 1)) {
      fail(new Error(`Enter the limit in ${currency}, like ${fromMinorUnits(5000, digits)}, or leave it empty for none.`));
      return;
    }
    try {
      const saved = await api(`/api/admin/staff/${m.id}/refunds`, { method: "PUT", body: { allowed: allowed.checked, limit_cents: cents } });
      allowed.checked = saved.can_refund;
      status.textContent = "Saved.";
    } catch (err) {
      fail(err);
    }
  });
  return el("tr", { "data-staff": m.id },
    el("td", { "data-label": "Name" }, m.name || "—"),
    el("td", { "data-label": "Email" }, m.email),
    el("td", { "data-label": "Role" }, m.role),
    el("td", { "data-label": "May refund" }, allowed),
    el("td", { "data-label": "Limit per refund" }, limit),
    el("td", {}, save, status));
}

async function load() {
  const [choices, staff] = await Promise.all([api("/api/admin/security"), api("/api/admin/staff")]);
  showRoles(choices);
  $("staff").querySelector("tbody").replaceChildren(...staff.map(memberRow));
}

load().catch(fail);
