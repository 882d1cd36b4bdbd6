import { api, download, el } from "/static/js/api.js";

// The audit trail: newest first, filtered, paged with `before`; the CSV link follows the filter.
const rows = document.getElementById("audit-rows");
const more = document.getElementById("audit-more");
const form = document.getElementById("audit-filter");
let filter = new URLSearchParams();
let before = null;

function query() {
  const params = new URLSearchParams();
  const data = new FormData(form);
  if (data.get("q")) params.set("q", data.get("q"));
  if (data.get("since")) params.set("since", `${data.get("since")}T00:00:00Z`);
  if (data.get("until")) params.set("until", `${data.get("until")}T23:59:59Z`);
  return params;
}

async function load(reset) {
  const params = new URLSearchParams(filter);
  if (!reset && before) params.set("before", before);
  try {
    const page = await api(`/api/admin/audit?${params}`);
    if (reset) rows.replaceChildren();
    for (const e of page.entries) {
      rows.append(
        el("tr", {},
          el("td", {}, new Date(e.at).toISOString().replace("T", " ").slice(0, 19)),
          el("td", {}, e.actor_email || "—", e.actor_role ? ` (${e.actor_role})` : ""),
          el("td", {}, e.address),
          el("td", {}, el("code", {}, e.action)),
          el("td", {}, Object.entries(e.target).map(([k, v]) => `${k}=${v}`).join(", ")),
          el("td", {},
            el("code", { class: "detail" }, JSON.stringify(e.detail.body ?? {})),
            ...(e.detail.before || []).map((b) => el("div", { class: "muted small" }, `before: ${b.kind} ${b.key} `, el("code", {}, JSON.stringify(b.was))))),
        ),
      );
    }
    before = page.next_before;
    more.hidden = before === null;
  } catch (err) {
    const error = document.getElementById("audit-error");
    error.textContent = err.message;
    error.hidden = false;
  }
}

// the export asks the admin to confirm it's them (a file of everything staff did)
document.getElementById("audit-csv").addEventListener("click", (event) => {
  event.preventDefault();
  download(event.currentTarget.href).catch((err) => {
    const error = document.getElementById("audit-error");
    error.textContent = err.message;
    error.hidden = false;
  });
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  filter = query();
  document.getElementById("audit-csv").href = `/api/admin/audit/export.csv?${filter}`;
  load(true);
});
more.addEventListener("click", () => load(false));
load(true);
