// The marketing console: every flash sale, and the form to plan one (create, edit, publish, cancel).
//
// Times are typed and shown in the viewer's time zone and sent as UTC instants; prices are typed in currency
// units and sent as integer minor units. The server validates everything: its problem details are shown next
// to the field they name (`field` of a 422, or the `$.path` of a 400).
import { api, ApiError, el } from "/static/js/api.js";
import {
  PHASE_LABELS,
  currencyDigits,
  describeVariant,
  formatMoney,
  fromLocalInput,
  fromMinorUnits,
  localTime,
  phaseBadgeClass,
  timeZone,
  toLocalInput,
  toMinorUnits,
} from "/static/js/marketing-common.js";

const API = "/api/marketing/flash-sales";
const root = document.getElementById("marketing");
const currency = root.dataset.currency || "USD";
const digits = currencyDigits(currency);
const maxItems = Number(root.dataset.maxItems) || 50;
const $ = (id) => document.getElementById(id);
const form = $("sale-form");
const itemsBody = $("items").querySelector("tbody");

const state = {
  sales: [],
  editing: null, // null (new sale) or the report of the sale being edited
};

for (const node of document.querySelectorAll("[data-timezone]")) node.textContent = timeZone;

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function showError(node, message) {
  node.textContent = message || "";
  node.hidden = !message;
}

// ---- the list ------------------------------------------------------------------------------------------

async function loadSales() {
  try {
    state.sales = await api(`${API}/`);
    showError($("list-error"), "");
  } catch (err) {
    showError($("list-error"), `Could not load the sales: ${err.message}`);
    return;
  }
  renderSales();
}

function saleRow(sale) {
  const open = !["ended", "cancelled"].includes(sale.phase);
  const actions = [
    el("a", { href: `/marketing/sales/${sale.id}`, class: "button" }, sale.phase === "live" ? "Watch live" : "Open"),
    open ? el("button", { type: "button", dataset: { edit: sale.id } }, "Edit") : null,
    sale.phase === "draft" ? el("button", { type: "button", dataset: { publish: sale.id } }, "Publish") : null,
    open && sale.phase !== "draft" ? el("button", { type: "button", class: "danger", dataset: { cancel: sale.id } }, "Cancel") : null,
  ];
  return el(
    "tr",
    { dataset: { sale: sale.id, phase: sale.phase } },
    el("td", {}, el("a", { href: `/marketing/sales/${sale.id}` }, sale.name)),
    el("td", {}, el("span", { class: phaseBadgeClass(sale.phase), "data-phase": sale.phase }, PHASE_LABELS[sale.phase] || sale.phase)),
    el("td", {}, el("time", { datetime: sale.starts_at, title: sale.starts_at }, localTime(sale.starts_at))),
    el("td", {}, el("time", { datetime: sale.ends_at, title: sale.ends_at }, localTime(sale.ends_at))),
    el("td", {}, sale.per_customer_limit),
    el("td", { class: "actions" }, el("div", { class: "row" }, actions)),
  );
}

function renderSales() {
  const filter = $("phase-filter").value;
  const shown = state.sales.filter((s) => !filter || s.phase === filter);
  const body = $("sales").querySelector("tbody");
  body.replaceChildren(...shown.map(saleRow));
  $("sales-empty").hidden = shown.length > 0;
}

$("phase-filter").addEventListener("change", renderSales);

$("sales").addEventListener("click", async (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  const { edit, publish, cancel } = button.dataset;
  try {
    if (edit) await openEditor(Number(edit));
    else if (publish) {
      button.disabled = true;
      await api(`${API}/${publish}/publish`, { method: "POST" });
      await loadSales();
    } else if (cancel) {
      const sale = state.sales.find((s) => s.id === Number(cancel));
      if (!window.confirm(`Cancel “${sale ? sale.name : cancel}”? Its price ends at once and held units go back.`)) return;
      button.disabled = true;
      await api(`${API}/${cancel}/cancel`, { method: "POST" });
      await loadSales();
    }
    showError($("list-error"), "");
  } catch (err) {
    button.disabled = false;
    showError($("list-error"), err.message);
  }
});

// ---- the form: items -------------------------------------------------------------------------------------

function errorSpan(key) {
  return el("span", { class: "field-error", role: "alert", dataset: { errorFor: key } });
}

function itemRow(item = {}) {
  const row = el(
    "tr",
    { class: "item-row" },
    el(
      "td",
      {},
      el("input", { name: "sku", value: item.sku || "", placeholder: "SKU", "aria-label": "SKU", maxlength: "64", autocomplete: "off" }),
      el("span", { class: "muted small variant-info" }, item.info || ""),
      errorSpan("items.N"),
    ),
    el(
      "td",
      {},
      el("input", {
        name: "sale_price",
        inputmode: "decimal",
        placeholder: fromMinorUnits(0, digits),
        "aria-label": `Sale price (${currency})`,
        value: item.sale_price_cents ? fromMinorUnits(item.sale_price_cents, digits) : "",
      }),
      errorSpan("items.N.sale_price_cents"),
    ),
    el(
      "td",
      {},
      el("input", { name: "units", type: "number", min: "1", step: "1", "aria-label": "Units allotted", value: item.units ?? "" }),
      errorSpan("items.N.units"),
    ),
    el("td", {}, el("button", { type: "button", class: "link", dataset: { removeItem: "" } }, "Remove")),
  );
  row.querySelector('input[name="sku"]').addEventListener("input", () => {
    row.querySelector(".variant-info").textContent = "";
  });
  return row;
}

function renumber() {
  [...itemsBody.rows].forEach((row, n) => {
    row.dataset.index = n;
    for (const span of row.querySelectorAll("[data-error-for]")) {
      span.dataset.errorFor = span.dataset.errorFor.replace(/^items\.(N|\d+)/, `items.${n}`);
    }
  });
  $("add-item").disabled = itemsBody.rows.length >= maxItems;
}

function addItem(item) {
  const row = itemRow(item);
  itemsBody.append(row);
  renumber();
  return row;
}

itemsBody.addEventListener("click", (event) => {
  const remove = event.target.closest("[data-remove-item]");
  if (!remove) return;
  remove.closest("tr").remove();
  renumber();
});

$("add-item").addEventListener("click", () => addItem().querySelector('input[name="sku"]').focus());

// ---- the form: product search (the catalog's staff API) -------------------------------------------------

const results = $("product-results");

async function searchProducts(query) {
  if (!query.trim()) return results.replaceChildren();
  const params = new URLSearchParams({ q: query.trim(), status: "published", limit: "8" });
  try {
    const page = await api(`/api/admin/products?${params}`);
    results.replaceChildren(
      ...page.items.map((p) =>
        el("li", { dataset: { handle: p.handle }, tabindex: "0" }, el("strong", {}, p.name), " ", el("span", { class: "muted small" }, `${p.handle} · ${p.variants} variant(s) · ${p.available} available`)),
      ),
    );
    if (!page.items.length) results.append(el("li", { class: "muted" }, "No product matches."));
  } catch (err) {
    results.replaceChildren(el("li", { class: "error" }, err.message));
  }
}

async function showVariants(li) {
  const product = await api(`/api/admin/products/${encodeURIComponent(li.dataset.handle)}`);
  const taken = new Set([...itemsBody.querySelectorAll('input[name="sku"]')].map((i) => i.value.trim()));
  const variants = el(
    "ul",
    { class: "plain variant-choices" },
    product.variants.map((v) => {
      const options = Object.entries(v.options || {}).map(([k, o]) => `${k} ${o}`).join(" / ") || "default";
      const label = `${v.sku} · ${options} · ${formatMoney(v.price_cents, currency)} · ${v.on_hand} on hand`;
      return el(
        "li",
        { class: "row" },
        el("span", { class: "grow" }, label),
        el(
          "button",
          {
            type: "button",
            disabled: taken.has(v.sku) || undefined,
            dataset: { sku: v.sku, info: `${product.name} · ${formatMoney(v.price_cents, currency)} regular · ${v.on_hand} on hand`, onHand: v.on_hand },
          },
          taken.has(v.sku) ? "Added" : "Add",
        ),
      );
    }),
  );
  for (const other of results.querySelectorAll(".variant-choices")) other.remove();
  li.append(variants);
}

results.addEventListener("click", async (event) => {
  const add = event.target.closest("button[data-sku]");
  if (add) {
    event.stopPropagation();
    const empty = [...itemsBody.rows].find((r) => !r.querySelector('input[name="sku"]').value.trim());
    const units = Math.max(1, Math.min(10, Number(add.dataset.onHand) || 1));
    let row = empty;
    if (row) {
      row.querySelector('input[name="sku"]').value = add.dataset.sku;
      row.querySelector(".variant-info").textContent = add.dataset.info;
      if (!row.querySelector('input[name="units"]').value) row.querySelector('input[name="units"]').value = units;
    } else {
      row = addItem({ sku: add.dataset.sku, info: add.dataset.info, units });
    }
    add.disabled = true;
    add.textContent = "Added";
    row.querySelector('input[name="sale_price"]').focus();
    return;
  }
  const li = event.target.closest("li[data-handle]");
  if (li && !li.querySelector(".variant-choices")) {
    try {
      await showVariants(li);
    } catch (err) {
      li.append(el("span", { class: "error" }, ` ${err.message}`));
    }
  }
});
results.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && event.target.matches("li[data-handle]")) event.target.click();
});

const search = debounce((q) => searchProducts(q), 250);
$("product-query").addEventListener("input", (e) => search(e.target.value));
$("product-query").addEventListener("keydown", (e) => {
  if (e.key === "Enter") e.preventDefault(); // not a form submit
});

// ---- the form: open, fill, errors ------------------------------------------------------------------------

function clearErrors() {
  for (const span of form.querySelectorAll("[data-error-for]")) span.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  showError($("form-error"), "");
  $("form-status").textContent = "";
}

// Show `message` next to `field` ("items.0.units"), or the nearest enclosing field, or above the buttons.
function fieldError(field, message) {
  let key = field || "";
  while (key) {
    const span = form.querySelector(`[data-error-for="${CSS.escape(key)}"]`);
    if (span) {
      span.textContent = span.textContent ? `${span.textContent} ${message}` : message;
      const input = span.parentElement.querySelector("input, select, textarea");
      if (input) input.setAttribute("aria-invalid", "true");
      return;
    }
    key = key.includes(".") ? key.slice(0, key.lastIndexOf(".")) : "";
  }
  const box = $("form-error");
  showError(box, box.textContent ? `${box.textContent} ${message}` : message);
}

// A 400's error {"key": "items[0].units", "message": "Expected `int` >= 1"} -> ["items.0.units", message]
// (older forms put the path in the message: "Expected `int` >= 1 - at `$.items[0].units`")
function validationField(error) {
  let key = error.key || "";
  let message = error.message || "invalid";
  const match = /^(.*?)\s*-\s*at `\$\.?([^`]*)`/.exec(message);
  if (match) [message, key] = [match[1], key || match[2]];
  return [key.replace(/\[(\d+)\]/g, ".$1").replace(/^\./, "") || null, message];
}

function showProblem(err) {
  const problem = (err instanceof ApiError && err.problem) || {};
  if (problem.field) return fieldError(problem.field, problem.detail || err.message);
  if (Array.isArray(problem.errors) && problem.errors.length) {
    for (const e of problem.errors) {
      const [field, message] = validationField(e);
      fieldError(field, message);
    }
    return;
  }
  fieldError(null, err.message);
}

function defaultTimes() {
  const start = new Date(Date.now() + 15 * 60000);
  start.setSeconds(0, 0);
  start.setMinutes(Math.ceil(start.getMinutes() / 5) * 5);
  const end = new Date(start.getTime() + 60 * 60000);
  return [start.toISOString(), end.toISOString()];
}

function setButtons(report) {
  const phase = report ? report.phase : null;
  $("save-draft").hidden = Boolean(report) && phase !== "draft";
  $("save-draft").textContent = report ? "Save draft" : "Save as draft";
  $("save-publish").textContent = !report ? "Publish" : phase === "draft" ? "Save and publish" : "Save changes";
  $("save-publish").value = !report || phase === "draft" ? "publish" : "save";
}

function fillForm(report) {
  form.reset();
  clearErrors();
  itemsBody.replaceChildren();
  results.replaceChildren();
  $("product-query").value = "";
  const [start, end] = report ? [report.starts_at, report.ends_at] : defaultTimes();
  form.elements.name.value = report ? report.name : "";
  for (const [input, iso] of [[form.elements.starts_at, start], [form.elements.ends_at, end]]) {
    input.value = toLocalInput(iso);
    // the field holds minutes: an untouched time is sent as it was (a live sale must keep its start exactly)
    input.dataset.initial = report ? input.value : "";
    input.dataset.iso = report ? iso : "";
  }
  form.elements.per_customer_limit.value = report ? report.per_customer_limit : 1;
  const items = report ? report.items : [{}];
  for (const item of items) {
    addItem({
      sku: item.sku,
      info: item.sku ? `${describeVariant(item)} · ${formatMoney(item.regular_price_cents, currency)} regular` : "",
      sale_price_cents: item.sale_price_cents,
      units: item.units_allotted,
    });
  }
  $("editor-title").textContent = report ? `Edit “${report.name}” (${PHASE_LABELS[report.phase]})` : "New flash sale";
  setButtons(report);
}

async function openEditor(saleId) {
  state.editing = saleId ? await api(`${API}/${saleId}`) : null;
  fillForm(state.editing);
  $("editor").hidden = false;
  form.elements.name.focus();
  const url = new URL(window.location.href);
  if (saleId) url.searchParams.set("edit", saleId);
  else url.searchParams.delete("edit");
  window.history.replaceState(null, "", url);
}

function closeEditor() {
  $("editor").hidden = true;
  state.editing = null;
  const url = new URL(window.location.href);
  url.searchParams.delete("edit");
  window.history.replaceState(null, "", url);
}

$("new-sale").addEventListener("click", () => openEditor(null));
$("new-sale").disabled = false; // served disabled: a click before this script ran would do nothing
$("close-editor").addEventListener("click", closeEditor);

// ---- the form: submit -------------------------------------------------------------------------------------

// The body for the API, or null after showing what is missing (the server checks everything again).
function collect() {
  let ok = true;
  const need = (field, message) => {
    fieldError(field, message);
    ok = false;
  };
  const name = form.elements.name.value.trim();
  if (!name) need("name", "Give the sale a name.");
  const instant = (input) => (input.dataset.initial && input.value === input.dataset.initial ? input.dataset.iso : fromLocalInput(input.value));
  const startsAt = instant(form.elements.starts_at);
  const endsAt = instant(form.elements.ends_at);
  if (!startsAt) need("starts_at", "When does it start?");
  if (!endsAt) need("ends_at", "When does it end?");
  const limit = Number(form.elements.per_customer_limit.value);
  if (!Number.isInteger(limit) || limit < 1) need("per_customer_limit", "A whole number, 1 or more.");
  const items = [...itemsBody.rows].map((row, n) => {
    const sku = row.querySelector('input[name="sku"]').value.trim();
    const priceText = row.querySelector('input[name="sale_price"]').value;
    const unitsText = row.querySelector('input[name="units"]').value;
    if (!sku) need(`items.${n}`, "Pick a variant or type its SKU.");
    const price = toMinorUnits(priceText, digits);
    if (price === null || price < 1) need(`items.${n}.sale_price_cents`, `An amount like ${fromMinorUnits(1999, digits)}.`);
    const units = Number(unitsText);
    if (!unitsText || !Number.isInteger(units) || units < 1) need(`items.${n}.units`, "A whole number, 1 or more.");
    return { sku, sale_price_cents: price, units };
  });
  if (!items.length) need("items", "Add at least one item.");
  if (!ok) return null;
  return { name, starts_at: startsAt, ends_at: endsAt, per_customer_limit: limit, items };
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const action = (event.submitter && event.submitter.value) || "save";
  clearErrors();
  const body = collect();
  if (!body) return;
  const buttons = form.querySelectorAll('button[type="submit"]');
  for (const b of buttons) b.disabled = true;
  try {
    let report;
    const editing = Boolean(state.editing);
    if (!editing) {
      report = await api(`${API}/`, { method: "POST", body: { ...body, publish: action === "publish" } });
    } else {
      report = await api(`${API}/${state.editing.id}`, { method: "PUT", body });
      if (action === "publish") report = await api(`${API}/${report.id}/publish`, { method: "POST" });
    }
    closeEditor();
    notice(report, action === "publish" ? "published" : editing ? "saved" : "saved as a draft");
    await loadSales();
  } catch (err) {
    showProblem(err);
  } finally {
    for (const b of buttons) b.disabled = false;
  }
});

function notice(report, what) {
  const box = $("sale-notice") || el("p", { id: "sale-notice", class: "ok", role: "status" });
  box.replaceChildren(`“${report.name}” ${what}. `, el("a", { href: `/marketing/sales/${report.id}` }, "Open its live page"));
  $("sales").before(box);
}

// ---- start ---------------------------------------------------------------------------------------------

await loadSales();
const editing = Number(new URLSearchParams(window.location.search).get("edit"));
if (editing) {
  openEditor(editing).catch((err) => showError($("list-error"), err.message));
}
setInterval(() => {
  if (document.visibilityState === "visible" && $("editor").hidden) loadSales();
}, 30000);
