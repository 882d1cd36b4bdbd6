// Flash sales on the storefront: the home page's banner and the product page's sale box.
//
// Markup hooks (the templates only mark up):
//   [data-flash-sales]                   home listing: a banner of the published sales not yet over
//   [data-flash-box][data-handle]        product page: the sales of this product, with a Claim button per
//     [data-signed-in="true"|"false"]    variant (guests are sent to /login?next=this page)
//   .product-card[data-product]          listing cards get a "Flash" badge while a sale of theirs is live
//
// The server's clock drives every countdown: realtime.js estimates the skew from its frames (welcome,
// pong); until the socket is open the `now` of the HTTP answer stands in. A sale's phase (upcoming, live,
// ended) is computed here from its times, so the sale price appears when the countdown reaches zero, for
// everyone, without waiting for the server's announcement; the `sale:{id}` channel keeps the units left
// and the sale itself (changed, cancelled) up to date, the `product:{handle}` channel tells a product page
// which sales it is in.
import { realtime } from "/static/js/realtime.js";
import { api, el, money } from "/static/js/api.js";

const TICK_MS = 250;
const FEW_LEFT = 5;
let currency = "USD"; // the shop's, from the hook's data-currency
const price = (cents) => money(cents, currency);

// ---- the server's clock ---------------------------------------------------------------------------------

let socketClock = realtime.state === "open";
let httpOffset = null;
realtime.watchState((state) => {
  if (state === "open") socketClock = true;
});

function learnTime(serverMs) {
  if (typeof serverMs === "number" && !socketClock) httpOffset = serverMs - Date.now();
}

export function serverNow() {
  return socketClock || httpOffset === null ? realtime.now() : Date.now() + httpOffset;
}

export function phaseAt(sale, now = serverNow()) {
  if (sale.status === "cancelled") return "cancelled";
  if (sale.status === "draft") return "draft";
  if (now < sale.starts_at_ms) return "upcoming";
  return now < sale.ends_at_ms ? "live" : "ended";
}

export function countdownText(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
}

export function unitsText(left) {
  if (left <= 0) return "Sold out";
  return left <= FEW_LEFT ? `Only ${left} left` : `${left} left`;
}

function optionsText(item) {
  const values = Object.values(item.options || {});
  return values.length ? values.join(" · ") : item.sku;
}

// ---- the sales this page shows: views kept live by their channels -----------------------------------

const sales = new Map(); // id -> {view, subscription, units: item id -> the latest sale.units}
const renderers = new Set();

function changed() {
  for (const render of renderers) render();
}

// `fresh`: the view is the channel's snapshot (current by definition). A view carried by an event
// (started, changed...) may have been read before a claim that was announced first: the units heard in
// `sale.units` since the snapshot win over it, while the item's allotment is the same.
function adopt(view, fresh = false) {
  if (!view || view.id === undefined) return;
  learnTime(view.now);
  let entry = sales.get(view.id);
  if (!entry) {
    entry = { view, subscription: null, units: new Map() };
    sales.set(view.id, entry);
    entry.subscription = realtime.subscribe(`sale:${view.id}`, (msg) => onSaleFrame(view.id, msg));
  } else {
    entry.view = view;
  }
  if (fresh) entry.units.clear();
  for (const item of view.items) {
    const heard = entry.units.get(item.item_id);
    if (heard && heard.units_allotted === item.units_allotted) item.units_left = heard.units_left;
  }
  changed();
}

function drop(id) {
  const entry = sales.get(id);
  if (!entry) return;
  entry.subscription.unsubscribe();
  sales.delete(id);
  changed();
}

function onSaleFrame(id, msg) {
  const entry = sales.get(id);
  if (!entry) return;
  if (msg.type === "snapshot") {
    if (msg.snapshot) adopt(msg.snapshot, true);
    else drop(id);
    return;
  }
  const data = msg.data || {};
  if (msg.event === "sale.units") {
    entry.units.set(data.item_id, { units_left: data.units_left, units_allotted: data.units_allotted });
    const item = entry.view.items.find((i) => i.item_id === data.item_id);
    if (item) {
      item.units_left = data.units_left;
      if (data.units_allotted !== undefined) item.units_allotted = data.units_allotted;
    }
    changed();
  } else if (data.sale) {
    adopt(data.sale); // sale.started / sale.ended / sale.changed / sale.cancelled carry the whole view
  }
}

// A tick re-renders while any countdown runs (the phase flips here, at zero, by the server's clock).
setInterval(() => {
  if (sales.size) changed();
}, TICK_MS);

function clockLine(sale, phase, now) {
  if (phase === "upcoming") return ["Starts in", countdownText(sale.starts_at_ms - now)];
  if (phase === "live") return ["Ends in", countdownText(sale.ends_at_ms - now)];
  if (phase === "cancelled") return ["This flash sale was cancelled", ""];
  return ["This flash sale has ended", ""];
}

// Update an element's text only when it changes (a tick must not disturb focus or screen readers).
function setText(node, text) {
  if (node && node.textContent !== text) node.textContent = text;
}

// ---- home listing: the banner ---------------------------------------------------------------------------

function bannerSale(sale) {
  return el(
    "article",
    { class: "flash-sale", dataset: { flashSale: String(sale.id) } },
    el(
      "header",
      { class: "row" },
      el("span", { class: "badge sale" }, "Flash sale"),
      el("strong", { "data-flash-name": true }),
      el("span", { class: "spacer" }),
      el("span", { class: "muted", "data-flash-status": true }),
      el("time", { class: "countdown", "data-flash-countdown": true }),
    ),
    el(
      "ul",
      { class: "flash-items" },
      sale.items.map((item) =>
        el(
          "li",
          { dataset: { flashItem: String(item.variant_id) } },
          el("a", { href: `/products/${encodeURIComponent(item.handle)}` }, item.product_name),
          el("span", { class: "muted" }, optionsText(item)),
          el("span", { class: "spacer" }),
          el("span", { class: "price sale", "data-flash-price": true }),
          el("s", { class: "muted", "data-flash-regular": true }),
          el("span", { class: "flash-units", "data-flash-units": true }),
          el("a", { class: "flash-after", "data-flash-after": true, hidden: true }),
        ),
      ),
    ),
  );
}

// A sold-out banner item leads on: to the product at its regular price while the variant is in stock, else
// to "Notify me" for that variant. Its stock is read from the product (at most every 30 s per product).
const STOCK_TTL_MS = 30_000;
const stockOf = new Map(); // handle -> { at, promise of Map(variant id -> available) }

function variantStock(handle) {
  const known = stockOf.get(handle);
  if (known && Date.now() - known.at < STOCK_TTL_MS) return known.promise;
  const promise = api(`/api/products/${encodeURIComponent(handle)}`)
    .then((p) => new Map(p.variants.map((v) => [v.id, v.available])))
    .catch(() => new Map());
  stockOf.set(handle, { at: Date.now(), promise });
  return promise;
}

function leadOn(row, item, phase) {
  const link = row.querySelector("[data-flash-after]");
  if (!link) return;
  if (item.units_left > 0 || phase === "upcoming" || phase === "cancelled") {
    link.hidden = true;
    return;
  }
  variantStock(item.handle).then((stock) => {
    const product = `/products/${encodeURIComponent(item.handle)}`;
    const available = stock.get(item.variant_id);
    if (available === undefined) return;
    const inStock = available > 0;
    setText(link, inStock ? "Buy at the regular price" : "Notify me when it is back");
    const href = inStock ? product : `${product}?variant=${item.variant_id}#stock-alert`;
    if (link.getAttribute("href") !== href) link.setAttribute("href", href);
    link.hidden = false;
  });
}

function fillItem(row, item, phase) {
  const live = phase === "live";
  const left = item.units_left;
  const flashPrice = row.querySelector("[data-flash-price]");
  setText(flashPrice, live ? price(item.sale_price_cents) : "");
  flashPrice.hidden = !live;
  setText(row.querySelector("[data-flash-regular]"), price(item.regular_price_cents));
  row.querySelector("[data-flash-regular]").hidden = !live;
  const units = row.querySelector("[data-flash-units]");
  setText(units, phase === "upcoming" || live ? unitsText(left) : "");
  units.dataset.unitsLeft = String(left);
  units.classList.toggle("sold-out", left <= 0);
  row.classList.toggle("sold-out", left <= 0);
}

function fillSale(node, sale, phase, now) {
  node.dataset.phase = phase;
  setText(node.querySelector("[data-flash-name]"), sale.name);
  const [status, clock] = clockLine(sale, phase, now);
  setText(node.querySelector("[data-flash-status]"), status);
  setText(node.querySelector("[data-flash-countdown]"), clock);
  const remind = node.querySelector("[data-flash-remind]");
  if (remind) remind.hidden = phase !== "upcoming"; // "remind me" only before it starts
}

function startBanner(root) {
  const nodes = new Map(); // sale id -> element
  renderers.add(() => {
    const now = serverNow();
    const shown = [...sales.values()].map((e) => e.view).sort((a, b) => a.starts_at_ms - b.starts_at_ms || a.id - b.id);
    for (const [id, node] of nodes) {
      if (!sales.has(id)) {
        node.remove();
        nodes.delete(id);
      }
    }
    for (const sale of shown) {
      let node = nodes.get(sale.id);
      if (!node || node.querySelectorAll("[data-flash-item]").length !== sale.items.length) {
        const fresh = bannerSale(sale);
        if (node) node.replaceWith(fresh);
        else root.append(fresh);
        node = fresh;
        nodes.set(sale.id, node);
      }
      const phase = phaseAt(sale, now);
      fillSale(node, sale, phase, now);
      sale.items.forEach((item, n) => {
        const row = node.querySelectorAll("[data-flash-item]")[n];
        fillItem(row, item, phase);
        leadOn(row, item, phase);
      });
      badgeCards(sale, phase);
    }
    root.hidden = nodes.size === 0;
  });

  // the listing channel: its snapshot is every published sale not over yet, its events each one's news
  realtime.subscribe("flash-sales", (msg) => {
    if (msg.type === "snapshot") {
      const current = (msg.snapshot && msg.snapshot.sales) || [];
      const ids = new Set(current.map((s) => s.id));
      for (const view of current) if (!sales.has(view.id)) adopt(view);
      for (const id of [...sales.keys()]) {
        const phase = phaseAt(sales.get(id).view);
        if (!ids.has(id) && (phase === "ended" || phase === "cancelled")) drop(id);
      }
    } else if (msg.data && msg.data.sale && !sales.has(msg.data.sale_id)) {
      const phase = phaseAt(msg.data.sale);
      if (phase !== "ended" && phase !== "cancelled") adopt(msg.data.sale); // just published: its own channel carries it on
    }
  });
}

// Listing cards: a "Flash" badge with the sale price while the sale runs.
function badgeCards(sale, phase) {
  for (const item of sale.items) {
    for (const card of document.querySelectorAll(`.product-card[data-product="${CSS.escape(item.handle)}"]`)) {
      let badge = card.querySelector(`[data-flash-badge="${sale.id}"]`);
      if (phase !== "live") {
        if (badge) badge.remove();
        continue;
      }
      if (!badge) {
        badge = el("span", { class: "badge sale flash-badge", dataset: { flashBadge: String(sale.id) } });
        card.querySelector(".price")?.after(badge);
      }
      const cheapest = Math.min(...sale.items.filter((i) => i.handle === item.handle).map((i) => i.sale_price_cents));
      setText(badge, `Flash ${price(cheapest)}`);
    }
  }
}

// ---- product page: the sale box -------------------------------------------------------------------------

const MESSAGES = {
  sold_out: "Sold out: every unit of this flash sale has been claimed.",
  sale_not_live: "This flash sale is not open right now.",
};

function claimMessage(err, sale) {
  const code = err.problem && err.problem.code;
  if (code === "limit_reached") return `You have reached this sale's limit of ${sale.per_customer_limit} per customer.`;
  if (code === "sale_not_live" && err.problem.starts_at) return "This flash sale has not started yet: wait for the countdown.";
  if (code === "sale_not_live" && err.message) return `${err.message.charAt(0).toUpperCase()}${err.message.slice(1)}.`;
  return MESSAGES[code] || err.message;
}

function loginUrl() {
  return `/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`;
}

function boxSale(sale, items, signedIn, onClaim) {
  return el(
    "article",
    { class: "flash-sale", dataset: { flashSale: String(sale.id) } },
    el(
      "header",
      { class: "row" },
      el("span", { class: "badge sale" }, "Flash sale"),
      el("strong", { "data-flash-name": true }),
    ),
    el(
      "p",
      { class: "flash-clock" },
      el("span", { "data-flash-status": true }),
      " ",
      el("time", { class: "countdown", "data-flash-countdown": true }),
    ),
    el(
      "ul",
      { class: "flash-items" },
      items.map((item) =>
        el(
          "li",
          { dataset: { flashItem: String(item.variant_id) } },
          el("span", { class: "variant-name" }, optionsText(item)),
          el("span", { class: "price sale", "data-flash-price": true }),
          el("s", { class: "muted", "data-flash-regular": true }),
          el("span", { class: "flash-units", "data-flash-units": true }),
          el(
            "button",
            {
              type: "button",
              class: "primary",
              "data-claim": String(item.variant_id),
              onclick: (e) => onClaim(sale.id, item.variant_id, e.currentTarget),
            },
            signedIn ? "Claim" : "Sign in to claim",
          ),
        ),
      ),
    ),
    el("p", { class: "muted small", "data-flash-note": true }),
    el(
      "p",
      { class: "flash-remind", "data-flash-remind": true },
      el(
        "button",
        {
          type: "button",
          "data-push-optin": "flash_sales",
          "data-push-then": `remind:${sale.id}`,
          "data-push-done": "We will notify you when it starts.",
        },
        "Remind me",
      ),
    ),
    el("p", { class: "flash-message", role: "status", "data-flash-message": true }),
  );
}

function startBox(box) {
  const handle = box.dataset.handle;
  const signedIn = box.dataset.signedIn === "true";
  const nodes = new Map(); // sale id -> {node, key}
  const claiming = new Set(); // variant ids with a claim in flight
  const mine = new Map(); // sale id -> what this shopper holds or bought of it (GET /api/flash-sales/mine)

  async function loadMine() {
    if (!signedIn) return;
    try {
      const own = await api("/api/flash-sales/mine");
      mine.clear();
      for (const sale of own) mine.set(sale.sale_id, sale);
      changed();
    } catch {
      // signed out meanwhile, or the server is away: the claim itself still says no when it must
    }
  }

  // This shopper's claim on an item: a held unit (until its hold runs out) or a bought one.
  function ownClaim(saleId, variantId, now) {
    const own = mine.get(saleId);
    const claims = (own && own.claims.filter((c) => c.variant_id === variantId)) || [];
    if (claims.some((c) => c.status === "paid")) return "paid";
    if (claims.some((c) => c.status === "held" && Date.parse(c.hold_expires_at) > now)) return "held";
    return null;
  }

  function limitReached(sale) {
    const own = mine.get(sale.id);
    return Boolean(own) && own.claimed >= sale.per_customer_limit;
  }

  function say(saleId, text, kind = "error") {
    const entry = nodes.get(saleId);
    if (!entry) return;
    const line = entry.node.querySelector("[data-flash-message]");
    line.textContent = text;
    line.className = `flash-message ${kind}`;
  }

  async function onClaim(saleId, variantId, button) {
    if (!signedIn) {
      window.location.assign(loginUrl());
      return;
    }
    const sale = sales.get(saleId)?.view;
    if (!sale || claiming.has(variantId)) return;
    if (ownClaim(saleId, variantId, serverNow()) === "held") {
      window.location.assign("/checkout"); // the unit is already held: buy it
      return;
    }
    claiming.add(variantId);
    button.disabled = true;
    say(saleId, "Claiming…", "muted");
    try {
      await api(`/api/flash-sales/${saleId}/claims`, { method: "POST", body: { variant_id: variantId } });
      say(saleId, "Claimed! Your unit is held for you: taking you to checkout…", "ok");
      window.location.assign("/checkout");
      return;
    } catch (err) {
      if (err.status === 401) {
        window.location.assign(loginUrl());
        return;
      }
      say(saleId, claimMessage(err, sale));
      if (err.problem && err.problem.code === "limit_reached") await loadMine();
    } finally {
      claiming.delete(variantId);
    }
    changed(); // the button's state follows the sale again
  }

  renderers.add(() => {
    const now = serverNow();
    for (const [id, entry] of nodes) {
      if (!sales.has(id)) {
        entry.node.remove();
        nodes.delete(id);
      }
    }
    for (const { view: sale } of sales.values()) {
      const items = sale.items.filter((i) => i.handle === handle);
      const key = items.map((i) => i.variant_id).join(",");
      let entry = nodes.get(sale.id);
      if (!items.length) {
        if (entry) {
          entry.node.remove();
          nodes.delete(sale.id);
        }
        continue;
      }
      if (!entry || entry.key !== key) {
        const node = boxSale(sale, items, signedIn, onClaim);
        if (entry) entry.node.replaceWith(node);
        else box.append(node);
        entry = { node, key };
        nodes.set(sale.id, entry);
      }
      const phase = phaseAt(sale, now);
      fillSale(entry.node, sale, phase, now);
      const rows = entry.node.querySelectorAll("[data-flash-item]");
      const full = limitReached(sale);
      let holding = false;
      items.forEach((item, n) => {
        fillItem(rows[n], item, phase);
        const button = rows[n].querySelector("[data-claim]");
        button.hidden = phase === "ended" || phase === "cancelled";
        const soldOut = item.units_left <= 0;
        const own = signedIn ? ownClaim(sale.id, item.variant_id, now) : null;
        holding = holding || own === "held";
        if (own === "held") {
          button.disabled = phase !== "live"; // held at the flash price: buy it
          setText(button, "Check out");
        } else if (own === "paid" || (full && signedIn)) {
          button.disabled = true;
          setText(button, own === "paid" ? "Bought" : "Limit reached");
        } else {
          button.disabled = signedIn
            ? claiming.has(item.variant_id) || phase !== "live" || soldOut
            : soldOut || (phase !== "live" && phase !== "upcoming"); // a guest may go and sign in beforehand
          setText(button, soldOut ? "Sold out" : signedIn ? "Claim" : "Sign in to claim");
        }
        rows[n].dataset.own = own || "";
      });
      const limit = sale.per_customer_limit;
      const own = mine.get(sale.id);
      const used = own ? Math.min(own.claimed, limit) : 0;
      setText(
        entry.node.querySelector("[data-flash-note]"),
        phase === "ended" || phase === "cancelled"
          ? ""
          : holding
            ? "A unit is held for you at the flash price: check out to buy it before the hold runs out."
            : full && signedIn
              ? `You have ${used === 1 ? "your 1 unit" : `all ${used} units`} allowed per customer in this sale.`
              : phase === "upcoming"
                ? `The flash price is revealed when the sale starts. Limit ${limit} per customer${signedIn ? "" : "; sign in to claim"}.`
                : `Claim a unit to hold it at the flash price, then check out. Limit ${limit} per customer.`,
      );
    }
    box.hidden = nodes.size === 0;
  });

  loadMine();
  // back from checkout (another tab, or the back button): what this shopper has may have changed
  document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && loadMine());
  window.addEventListener("pageshow", (e) => e.persisted && loadMine());

  realtime.subscribe(`product:${handle}`, (msg) => {
    if (msg.type === "snapshot") {
      const current = (msg.snapshot && msg.snapshot.flash_sales) || [];
      for (const view of current) adopt(view);
      const ids = new Set(current.map((s) => s.id));
      for (const id of [...sales.keys()]) if (!ids.has(id) && phaseAt(sales.get(id).view) !== "ended") drop(id);
      return;
    }
    const data = msg.data || {};
    if (data.sale && String(msg.event || "").startsWith("sale.")) adopt(data.sale);
  });
}

// ---- start ------------------------------------------------------------------------------------------------

export function start(root = document) {
  const hook = root.querySelector("[data-flash-sales], [data-flash-box]");
  if (hook && hook.dataset.currency) currency = hook.dataset.currency.toUpperCase();
  const banner = root.querySelector("[data-flash-sales]");
  if (banner) startBanner(banner);
  for (const box of root.querySelectorAll("[data-flash-box]")) startBox(box);
}

start();
