// The staff catalog: find, create, edit and delete products, count stock, import files.
import { api, el, money } from "/static/js/api.js";

const table = document.querySelector("#products tbody");
const search = document.getElementById("product-search");
const statusFilter = document.getElementById("status-filter");
const editor = document.getElementById("editor");
const form = document.getElementById("product-form");
const variants = document.querySelector("#variants tbody");
const errorBox = document.getElementById("editor-error");
const statusBox = document.getElementById("editor-status");
const PAGE = 50;
let offset = 0;
let current = null; // the product being edited (null: a new one)

async function load() {
  const params = new URLSearchParams({ q: search.value.trim(), offset, limit: PAGE });
  if (statusFilter.value) params.set("status", statusFilter.value);
  const page = await api(`/api/admin/products?${params}`);
  table.replaceChildren(...page.items.map((p) =>
    el("tr", { "data-handle": p.handle },
      el("td", {}, el("button", { type: "button", class: "link", onclick: () => edit(p.handle) }, p.handle)),
      el("td", {}, p.name), el("td", {}, el("span", { class: "badge" }, p.status)),
      el("td", {}, money(p.price_cents)), el("td", {}, p.variants), el("td", {}, p.available))));
  document.getElementById("page-info").textContent =
    `${page.total ? offset + 1 : 0}–${Math.min(offset + PAGE, page.total)} of ${page.total}`;
  document.getElementById("prev-page").disabled = offset === 0;
  document.getElementById("next-page").disabled = offset + PAGE >= page.total;
}

function variantRow(v = {}) {
  const options = Object.entries(v.options || {}).map(([k, val]) => `${k}=${val}`).join("; ");
  const input = (name, value, attrs = {}) => el("td", {}, el("input", { name, value: value ?? "", ...attrs }));
  const row = el("tr", { "data-variant": v.id || "" },
    input("sku", v.sku, { required: true, size: 14 }),
    input("options", options, { size: 18 }),
    input("price_cents", v.price_cents, { type: "number", min: 0, required: true }),
    input("compare_at_cents", v.compare_at_cents, { type: "number", min: 0 }),
    input("weight_grams", v.weight_grams ?? 0, { type: "number", min: 0 }),
    input("stock", v.on_hand ?? 0, { type: "number", min: 0 }),
    el("td", { class: "muted" }, v.reserved ?? 0),
    input("low_stock_threshold", v.low_stock_threshold ?? "", { type: "number", min: 0 }),
    el("td", {}, el("button", { type: "button", class: "link", onclick: () => row.remove() }, "Remove")));
  return row;
}

function show(product) {
  current = product;
  editor.hidden = false;
  errorBox.hidden = true;
  statusBox.textContent = "";
  document.getElementById("editor-title").textContent = product ? product.name : "New product";
  const f = form.elements;
  f.handle.value = product ? product.handle : "";
  f.handle.readOnly = Boolean(product);
  f.status.value = product ? product.status : "draft";
  for (const name of ["name", "brand", "category", "subcategory", "description"]) f[name].value = product ? product[name] || "" : "";
  f.tags.value = product ? product.tags.join(", ") : "";
  f.images.value = product ? product.images.join("\n") : "";
  variants.replaceChildren(...(product ? product.variants : [{}]).map(variantRow));
  document.getElementById("delete-product").hidden = !product;
}

async function edit(handle) {
  show(await api(`/api/admin/products/${encodeURIComponent(handle)}`));
}

function draft() {
  const f = form.elements;
  const number = (row, name) => {
    const value = row.querySelector(`[name="${name}"]`).value;
    return value === "" ? null : Number(value);
  };
  return {
    name: f.name.value.trim(),
    brand: f.brand.value.trim(),
    category: f.category.value.trim() || null,
    subcategory: f.subcategory.value.trim() || null,
    status: f.status.value,
    description: f.description.value,
    tags: f.tags.value.split(",").map((t) => t.trim()).filter(Boolean),
    images: f.images.value.split("\n").map((t) => t.trim()).filter(Boolean),
    variants: [...variants.querySelectorAll("tr")].map((row) => ({
      sku: row.querySelector('[name="sku"]').value.trim(),
      options: Object.fromEntries(row.querySelector('[name="options"]').value.split(";")
        .map((pair) => pair.split("=").map((s) => s.trim())).filter(([k, v]) => k && v)),
      price_cents: number(row, "price_cents") ?? 0,
      compare_at_cents: number(row, "compare_at_cents"),
      weight_grams: number(row, "weight_grams") ?? 0,
      stock: number(row, "stock"),
      low_stock_threshold: number(row, "low_stock_threshold"),
    })),
  };
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorBox.hidden = true;
  try {
    const body = draft();
    const saved = current
      ? await api(`/api/admin/products/${encodeURIComponent(current.handle)}`, { method: "PUT", body })
      : await api("/api/admin/products", { method: "POST", body: { handle: form.elements.handle.value.trim(), ...body } });
    show(saved);
    statusBox.textContent = "Saved.";
    load();
  } catch (err) {
    errorBox.textContent = err.message;
    errorBox.hidden = false;
  }
});

document.getElementById("delete-product").addEventListener("click", async () => {
  if (!current || !window.confirm(`Delete ${current.handle}? Orders keep their copy.`)) return;
  try {
    await api(`/api/admin/products/${encodeURIComponent(current.handle)}`, { method: "DELETE" });
    editor.hidden = true;
    load();
  } catch (err) {
    errorBox.textContent = err.message;
    errorBox.hidden = false;
  }
});

document.getElementById("add-variant").addEventListener("click", () => variants.append(variantRow()));
document.getElementById("new-product").addEventListener("click", () => show(null));
document.getElementById("prev-page").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); load(); });
document.getElementById("next-page").addEventListener("click", () => { offset += PAGE; load(); });
let typing;
search.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(() => { offset = 0; load(); }, 250); });
statusFilter.addEventListener("change", () => { offset = 0; load(); });

document.getElementById("import-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const report = document.getElementById("import-report");
  try {
    const result = await api("/api/admin/catalog/import", { method: "POST", body: new FormData(event.target) });
    report.replaceChildren(
      el("p", { class: "ok" }, `Imported ${result.created.length + result.updated.length} products ` +
        `(${result.created.length} new, ${result.updated.length} updated) with ${result.variants} variants.`),
      result.problems.length ? el("ul", { class: "error" }, result.problems.map((p) => el("li", {}, `${p.where}: ${p.reason}`))) : null);
    load();
  } catch (err) {
    report.replaceChildren(el("p", { class: "error" }, err.message));
  }
});

load();
