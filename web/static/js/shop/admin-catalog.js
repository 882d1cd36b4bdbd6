// The staff catalog: find products and edit their name, status, prices, stock and images in place in the
// grid; create, edit whole, delete, import files. Prices are typed and
// shown in the shop's currency units ("29.99") and sent as integer minor units (2999), converted as text.
import { api, el } from "/static/js/api.js";
import { currencyDigits, formatMoney, fromMinorUnits, toMinorUnits } from "/static/js/money.js";

const table = document.querySelector("#products tbody");
const search = document.getElementById("product-search");
const statusFilter = document.getElementById("status-filter");
const editor = document.getElementById("editor");
const form = document.getElementById("product-form");
const variants = document.getElementById("variants");
const currency = document.getElementById("admin-catalog").dataset.currency || "USD";
const digits = currencyDigits(currency);
const money = (minor) => formatMoney(minor, currency);
const errorBox = document.getElementById("editor-error");
const statusBox = document.getElementById("editor-status");
const PAGE = 50;
let offset = 0;
let current = null; // the product being edited (null: a new one)

async function load() {
  const params = new URLSearchParams({ q: search.value.trim(), offset, limit: PAGE });
  if (statusFilter.value) params.set("status", statusFilter.value);
  const page = await api(`/api/admin/products?${params}`);
  table.replaceChildren(...page.items.map(productRow));
  document.getElementById("page-info").textContent =
    `${page.total ? offset + 1 : 0}–${Math.min(offset + PAGE, page.total)} of ${page.total}`;
  document.getElementById("prev-page").disabled = offset === 0;
  document.getElementById("next-page").disabled = offset + PAGE >= page.total;
}

// In place: a cell saves itself when it changes (Enter or leaving it), Escape puts the old value back. Each
// save names the version it saw; a product saved by someone else meanwhile is reloaded with a message.
const versions = new Map(); // handle -> updated_at the grid last saw

function say(row, text, bad = false) {
  const box = row.querySelector(".row-status");
  box.textContent = text;
  box.classList.toggle("error", bad);
}

async function change(row, handle, body) {
  say(row, "Saving…");
  try {
    const saved = await api(`/api/admin/products/${encodeURIComponent(handle)}`, {
      method: "PATCH",
      body: { updated_at: versions.get(handle), ...body },
    });
    versions.set(handle, saved.updated_at);
    say(row, "Saved");
    return saved;
  } catch (err) {
    const stale = err.problem?.code === "stale";
    say(row, stale ? "Changed elsewhere: reloaded" : err.message, true);
    if (stale) await reloadRow(row, handle);
    throw err;
  }
}

function cell(input, label, onSave) {
  let before = input.value;
  input.setAttribute("aria-label", label);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); input.blur(); }
    if (event.key === "Escape") { input.value = before; input.blur(); }
  });
  input.addEventListener("change", async () => {
    try {
      const shown = await onSave(input.value);
      before = shown ?? input.value;
      input.value = before;
      input.removeAttribute("aria-invalid");
    } catch {
      input.setAttribute("aria-invalid", "true");
    }
  });
  return input;
}

function productRow(p) {
  versions.set(p.handle, p.updated_at);
  const row = el("tr", { "data-handle": p.handle });
  const name = cell(el("input", { class: "inline", value: p.name, maxlength: 300, required: true }), `Name of ${p.handle}`,
    async (value) => (await change(row, p.handle, { name: value.trim() })).name);
  const status = el("select", { class: "inline" },
    ...["published", "draft"].map((s) => el("option", { value: s, ...(s === p.status ? { selected: true } : {}) }, s)));
  cell(status, `Status of ${p.handle}`, async (value) => (await change(row, p.handle, { status: value })).status);
  const toggle = el("button", { type: "button", class: "link", "aria-expanded": "false" }, `${p.variants} variant${p.variants === 1 ? "" : "s"}`);
  toggle.addEventListener("click", () => toggleDetail(row, p.handle, toggle));
  row.append(
    el("td", { "data-label": "Product" }, name, el("div", { class: "muted small" }, p.handle)),
    el("td", { "data-label": "Status" }, status),
    el("td", { "data-label": "From", class: "from" }, money(p.price_cents)),
    el("td", { "data-label": "Variants" }, toggle),
    el("td", { "data-label": "Available", class: "available" }, String(p.available)),
    el("td", { "data-label": "" }, el("button", { type: "button", class: "link", onclick: () => edit(p.handle) }, "Edit all"),
      el("span", { class: "row-status muted small", role: "status" })),
  );
  return row;
}

async function reloadRow(row, handle) {
  const product = await api(`/api/admin/products/${encodeURIComponent(handle)}`);
  versions.set(handle, product.updated_at);
  const open = row.nextElementSibling?.classList.contains("detail-row");
  const fresh = productRow({ ...product, price_cents: Math.min(...product.variants.map((v) => v.price_cents)),
    variants: product.variants.length, available: product.variants.reduce((n, v) => n + v.available, 0) });
  if (open) row.nextElementSibling.remove();
  row.replaceWith(fresh);
  if (open) await toggleDetail(fresh, handle, fresh.querySelector("[aria-expanded]"));
  say(fresh, "Changed elsewhere: reloaded", true);
}

async function toggleDetail(row, handle, toggle) {
  const next = row.nextElementSibling;
  if (next?.classList.contains("detail-row")) {
    next.remove();
    toggle.setAttribute("aria-expanded", "false");
    return;
  }
  const product = await api(`/api/admin/products/${encodeURIComponent(handle)}`);
  versions.set(handle, product.updated_at);
  toggle.setAttribute("aria-expanded", "true");
  row.after(el("tr", { class: "detail-row" }, el("td", { colspan: 6 }, variantGrid(row, product), imageStrip(row, product))));
}

function refreshFigures(row, product) {
  row.querySelector(".from").textContent = money(Math.min(...product.variants.map((v) => v.price_cents)));
  row.querySelector(".available").textContent = String(product.variants.reduce((n, v) => n + v.available, 0));
}

function variantGrid(row, product) {
  const amount = (cents) => (cents === null || cents === undefined ? "" : fromMinorUnits(cents, digits));
  const moneyCell = (v, field, label, optional) => {
    const input = el("input", { class: "inline money", inputmode: "decimal", autocomplete: "off", value: amount(v[field]) });
    return cell(input, `${label} of ${v.sku}`, async (value) => {
      const text = value.trim();
      const cents = text === "" ? null : toMinorUnits(text, digits);
      if (cents === null && (text !== "" || !optional)) {
        say(row, `Enter an amount in ${currency}, like ${fromMinorUnits(2999, digits)}`, true);
        throw new Error("bad amount");
      }
      const saved = await change(row, product.handle, { variants: [{ id: v.id, [field]: cents }] });
      refreshFigures(row, saved);
      return amount(saved.variants.find((x) => x.id === v.id)[field]);
    });
  };
  const onHandCell = (v) => {
    let shown = v.on_hand;
    const input = el("input", { class: "inline count", type: "number", min: 0, step: 1, value: v.on_hand });
    return cell(input, `On hand of ${v.sku}`, async (value) => {
      const wanted = Number(value);
      if (!Number.isInteger(wanted) || wanted < 0) {
        say(row, "On hand is a whole number, 0 or more", true);
        throw new Error("bad count");
      }
      say(row, "Saving…");
      try { // the difference from what was shown: units sold meanwhile stay sold
        const level = await api(`/api/admin/variants/${v.id}/stock`, { method: "POST", body: { delta: wanted - shown, note: "edited in the catalog" } });
        shown = level.on_hand;
        say(row, "Saved");
        input.closest("tr").querySelector(".variant-available").textContent = String(level.available);
        return String(level.on_hand);
      } catch (err) {
        say(row, err.message, true);
        throw err;
      }
    });
  };
  return el("table", { class: "table stackable variant-grid" },
    el("thead", {}, el("tr", {}, ...["SKU", "Options", `Price (${currency})`, `Compare-at (${currency})`, "On hand", "Reserved", "Available"].map((h) => el("th", {}, h)))),
    el("tbody", {}, ...product.variants.map((v) => el("tr", { "data-variant": v.id },
      el("td", { "data-label": "SKU" }, v.sku),
      el("td", { "data-label": "Options" }, Object.entries(v.options).map(([k, x]) => `${k}: ${x}`).join(", ") || "—"),
      el("td", { "data-label": "Price" }, moneyCell(v, "price_cents", "Price", false)),
      el("td", { "data-label": "Compare-at" }, moneyCell(v, "compare_at_cents", "Compare-at price", true)),
      el("td", { "data-label": "On hand" }, onHandCell(v)),
      el("td", { "data-label": "Reserved" }, String(v.reserved)),
      el("td", { "data-label": "Available", class: "variant-available" }, String(v.available))))));
}

function imageStrip(row, product) {
  let images = [...product.images];
  const strip = el("div", { class: "image-strip", "aria-label": `Images of ${product.name}` });
  const save = async (next) => {
    try {
      images = (await change(row, product.handle, { images: next })).images;
    } catch { /* the row says why */ }
    draw();
  };
  const draw = () => strip.replaceChildren(
    ...images.map((url, i) => el("figure", { class: "thumb" },
      el("img", { src: url, alt: "", loading: "lazy" }),
      el("button", { type: "button", class: "link danger", "aria-label": `Remove image ${i + 1}`, onclick: () => save(images.filter((_, j) => j !== i)) }, "Remove"))),
    el("form", { class: "row", onsubmit: (event) => {
      event.preventDefault();
      const url = event.target.elements.url.value.trim();
      if (url) save([...images, url]);
    } }, el("input", { name: "url", inputmode: "url", autocomplete: "off", placeholder: "https://… or /media/… image URL", "aria-label": `Add an image to ${product.name}` }),
    el("button", { type: "submit" }, "Add image")));
  draw();
  return strip;
}

let variantCount = 0;

// One variant: labelled fields in a card (a table of nine inputs does not fit the editor's column).
function variantRow(v = {}) {
  const n = ++variantCount;
  const options = Object.entries(v.options || {}).map(([k, val]) => `${k}=${val}`).join("; ");
  const field = (name, label, value, attrs = {}, wide = false) => {
    const id = `variant-${n}-${name}`;
    return el("div", { class: `field${wide ? " wide" : ""}` },
      el("label", { for: id }, label),
      el("input", { id, name, value: value ?? "", "aria-describedby": `${id}-error`, ...attrs }),
      el("span", { class: "field-error", id: `${id}-error`, "data-error-for": name }));
  };
  const amount = (cents) => (cents === null || cents === undefined ? "" : fromMinorUnits(cents, digits));
  const moneyInput = { inputmode: "decimal", autocomplete: "off", placeholder: fromMinorUnits(0, digits) };
  const row = el("fieldset", { class: "variant-card", "data-variant": v.id || "" },
    el("legend", {}, v.sku ? `Variant ${v.sku}` : "New variant"),
    field("sku", "SKU", v.sku, { required: true, maxlength: 64, autocomplete: "off" }, true),
    field("options", "Options (size=M; color=Red)", options, { autocomplete: "off" }, true),
    field("price", `Price (${currency})`, amount(v.price_cents), { required: true, ...moneyInput }),
    field("compare_at", `Compare-at (${currency})`, amount(v.compare_at_cents), moneyInput),
    field("weight_grams", "Weight (g)", v.weight_grams ?? 0, { type: "number", min: 0, step: 1 }),
    field("stock", "On hand", v.on_hand ?? 0, { type: "number", min: 0, step: 1 }),
    field("low_stock_threshold", "Low-stock alert at", v.low_stock_threshold ?? "", { type: "number", min: 0, step: 1 }),
    el("div", { class: "field" }, el("span", { class: "label" }, "Reserved"), el("span", { class: "reserved" }, v.reserved ?? 0)),
    el("div", { class: "variant-actions" },
      el("button", { type: "button", class: "link danger", onclick: () => row.remove() }, "Remove variant")));
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
  editor.scrollIntoView({ block: "start" });
}

async function edit(handle) {
  show(await api(`/api/admin/products/${encodeURIComponent(handle)}`));
}

// The form as the API wants it, or the problems found, by field, in words.
function draft() {
  const f = form.elements;
  const problems = [];
  const whole = (row, name) => {
    const value = row.querySelector(`[name="${name}"]`).value.trim();
    return value === "" ? null : Number(value);
  };
  const rows = [...variants.querySelectorAll(".variant-card")];
  const items = rows.map((row) => {
    const text = (name) => row.querySelector(`[name="${name}"]`).value.trim();
    const say = (name, message) => problems.push({ input: row.querySelector(`[name="${name}"]`), message });
    const price = toMinorUnits(text("price"), digits);
    if (price === null) say("price", `Enter the price in ${currency}, like ${fromMinorUnits(2999, digits)}.`);
    const compareText = text("compare_at");
    const compareAt = compareText === "" ? null : toMinorUnits(compareText, digits);
    if (compareText !== "" && compareAt === null) say("compare_at", `Enter an amount in ${currency}, like ${fromMinorUnits(3999, digits)}, or leave it empty.`);
    else if (compareAt !== null && price !== null && compareAt <= price) say("compare_at", "The compare-at price must be above the price.");
    if (!text("sku")) say("sku", "Enter a SKU.");
    return {
      sku: text("sku"),
      options: Object.fromEntries(text("options").split(";")
        .map((pair) => pair.split("=").map((s) => s.trim())).filter(([k, v]) => k && v)),
      price_cents: price ?? 0,
      compare_at_cents: compareAt,
      weight_grams: whole(row, "weight_grams") ?? 0,
      stock: whole(row, "stock"),
      low_stock_threshold: whole(row, "low_stock_threshold"),
    };
  });
  if (!rows.length) problems.push({ input: null, message: "A product needs at least one variant." });
  return {
    problems,
    body: {
      name: f.name.value.trim(),
      brand: f.brand.value.trim(),
      category: f.category.value.trim() || null,
      subcategory: f.subcategory.value.trim() || null,
      status: f.status.value,
      description: f.description.value,
      tags: f.tags.value.split(",").map((t) => t.trim()).filter(Boolean),
      images: f.images.value.split("\n").map((t) => t.trim()).filter(Boolean),
      variants: items,
    },
  };
}

function showProblems(problems) {
  for (const box of variants.querySelectorAll(".field-error")) box.textContent = "";
  for (const input of variants.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  for (const { input, message } of problems) {
    if (!input) continue;
    input.setAttribute("aria-invalid", "true");
    input.parentElement.querySelector(".field-error").textContent = message;
  }
  errorBox.textContent = problems.length ? `Please check ${problems.length === 1 ? "the highlighted field" : `the ${problems.length} highlighted fields`}.` : "";
  errorBox.hidden = !problems.length;
  const first = problems.find((p) => p.input);
  if (first) first.input.focus();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorBox.hidden = true;
  const { problems, body } = draft();
  showProblems(problems);
  if (problems.length) return;
  try {
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
