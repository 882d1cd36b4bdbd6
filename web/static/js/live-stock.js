// Live stock and prices on storefront pages. Markup hooks (commerce's templates add them):
//   data-product="{handle}"          an element showing one product (card or page); its channel is watched
//   data-stock-variant="{variant}"   inside it: the variant's availability
//   data-price-variant="{variant}"   inside it: the variant's price
// Cards added later (search results, infinite lists) are picked up; removed ones are let go.
import { realtime } from "/static/js/realtime.js";
import { money } from "/static/js/api.js";

const LOW_STOCK = 5;
const watching = new Map(); // handle -> {elements: Set, subscription}

export function stockText(available) {
  if (available === null || available === undefined) return "";
  if (available <= 0) return "Sold out";
  if (available <= LOW_STOCK) return `Only ${available} left`;
  return `${available} in stock`;
}

function each(handle, selector, fn) {
  const entry = watching.get(handle);
  if (!entry) return;
  for (const root of entry.elements) for (const el of root.querySelectorAll(selector)) fn(el);
}

function showStock(handle, variantId, available) {
  each(handle, `[data-stock-variant="${variantId}"]`, (el) => {
    el.textContent = stockText(available);
    el.dataset.available = String(available);
    el.classList.toggle("sold-out", available <= 0);
    el.classList.toggle("low-stock", available > 0 && available <= LOW_STOCK);
  });
}

function showPrice(handle, variantId, priceCents, compareAtCents) {
  each(handle, `[data-price-variant="${variantId}"]`, (el) => {
    el.textContent = money(priceCents);
    el.dataset.priceCents = String(priceCents);
    const was = compareAtCents && compareAtCents > priceCents ? money(compareAtCents) : "";
    el.classList.toggle("on-sale", Boolean(was));
    if (was) el.title = `was ${was}`;
    else el.removeAttribute("title");
  });
}

function apply(handle, msg) {
  if (msg.type === "snapshot") {
    for (const v of (msg.snapshot && msg.snapshot.variants) || []) {
      if (v.available !== null && v.available !== undefined) showStock(handle, v.variant_id, v.available);
      if (v.price_cents !== undefined) showPrice(handle, v.variant_id, v.price_cents, v.compare_at_cents);
    }
    return;
  }
  const data = msg.data || {};
  if (msg.event === "stock.changed") showStock(handle, data.variant_id, data.available);
  else if (msg.event === "product.changed" || msg.event === "price.changed") {
    for (const v of data.variants || [data]) {
      if (v.variant_id !== undefined && v.price_cents !== undefined) {
        showPrice(handle, v.variant_id, v.price_cents, v.compare_at_cents);
      }
    }
  }
  document.dispatchEvent(new CustomEvent("live-product", { detail: { handle, msg } }));
}

function watch(el) {
  const handle = el.dataset.product;
  if (!handle) return;
  let entry = watching.get(handle);
  if (!entry) {
    entry = { elements: new Set(), subscription: null };
    watching.set(handle, entry);
    entry.subscription = realtime.subscribe(`product:${handle}`, (msg) => apply(handle, msg));
  }
  entry.elements.add(el);
}

function unwatch(el) {
  const entry = watching.get(el.dataset.product);
  if (!entry || !entry.elements.delete(el) || entry.elements.size) return;
  entry.subscription.unsubscribe();
  watching.delete(el.dataset.product);
}

function within(node, fn) {
  if (node.nodeType !== Node.ELEMENT_NODE) return;
  if (node.matches("[data-product]")) fn(node);
  for (const el of node.querySelectorAll("[data-product]")) fn(el);
}

export function start(root = document) {
  for (const el of root.querySelectorAll("[data-product]")) watch(el);
  new MutationObserver((changes) => {
    for (const change of changes) {
      for (const node of change.addedNodes) within(node, watch);
      for (const node of change.removedNodes) within(node, unwatch);
    }
  }).observe(root.body || root, { childList: true, subtree: true });
}

start();
