// The agent console: live inbox, conversation view, the shopper's context, the team's availability.
//
// Live frames (the `agents` channel, the open conversation's staff channel) are hints and fast delivery;
// what is shown comes from the API and the conversation's stored timeline, replayed after every reconnect.
import { api, el, money } from "/static/js/api.js";
import { ConversationFeed, TypingSignal } from "/static/js/chat-client.js";
import { clock, messageElement, pendingElement } from "/static/js/chat-render.js";
import { realtime } from "/static/js/realtime.js";

const root = document.getElementById("console");
const me = Number(root.dataset.me);
const slaSeconds = Number(root.dataset.slaSeconds) || 120;
const $ = (id) => document.getElementById(id);

const state = {
  view: "unassigned",
  items: [],
  cursor: null,
  searching: "",
  current: null, // staff view of the open conversation
  feed: null,
  agents: [],
  teams: [],
  canned: [],
  cannedIndex: 0,
  readSent: 0,
  availability: "offline",
};

function showError(message) {
  $("thread-error").textContent = message || "";
  $("thread-error").hidden = !message;
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function waited(since) {
  if (!since) return "";
  const seconds = Math.max(0, Math.round((Date.now() - new Date(since).getTime()) / 1000));
  return seconds < 90 ? `${seconds}s` : seconds < 5400 ? `${Math.round(seconds / 60)}m` : `${Math.round(seconds / 3600)}h`;
}

function breached(c) {
  return c.status === "open" && c.waiting_since && Date.now() - new Date(c.waiting_since).getTime() > slaSeconds * 1000;
}

// ---- inbox ---------------------------------------------------------------------------------------------

async function loadInbox({ more = false } = {}) {
  if (state.searching) return search(state.searching);
  const params = new URLSearchParams({ view: state.view, status: $("status-filter").value, limit: "50" });
  if ($("label-filter").value) params.set("label", $("label-filter").value);
  if (more && state.cursor) params.set("cursor", state.cursor);
  const page = await api(`/api/chat/inbox?${params}`);
  state.items = more ? state.items.concat(page.items) : page.items;
  state.cursor = page.next_cursor;
  $("inbox-more").hidden = !page.next_cursor;
  renderInbox();
}

async function loadCounts() {
  const counts = await api("/api/chat/inbox/counts");
  for (const badge of document.querySelectorAll("[data-count]")) badge.textContent = counts[badge.dataset.count] ?? 0;
}

// Something the shopper wrote that the assigned agent has not read: receipts count in the public
// sequence (private notes and events are not the shopper's), and an ended conversation waits for nobody.
function unread(c) {
  return c.owner === "agent" && c.status !== "resolved" && (c.last_public_seq ?? c.last_seq) > c.agent_read_seq;
}

function inboxItem(c, snippet) {
  const who = c.contact_name || c.contact_email || `Guest #${c.id}`;
  const owner = c.owner === "agent" ? (c.assignee ? c.assignee.name : "agent") : c.owner === "bot" ? "bot" : "waiting";
  return el(
    "li",
    {
      class: [c.id === (state.current && state.current.id) ? "active" : "", breached(c) ? "sla" : ""].filter(Boolean).join(" "),
      dataset: { id: c.id, waitingSince: c.waiting_since || "" },
      tabindex: "0",
      onclick: () => openConversation(c.id),
      onkeydown: (e) => e.key === "Enter" && openConversation(c.id),
    },
    el("div", { class: "row between" }, el("strong", {}, who), el("span", { class: "muted small" }, c.waiting_since ? `waiting ${waited(c.waiting_since)}` : clock(c.last_activity_at))),
    el("div", { class: "muted small preview" }, snippet || c.last_preview || "—"),
    el(
      "div",
      { class: "row small" },
      el("span", { class: `badge ${c.status === "open" ? "ok" : ""}` }, c.status),
      el("span", { class: "badge" }, owner),
      c.labels.map((l) => el("span", { class: "badge label" }, l)),
      unread(c) ? el("span", { class: "badge warn" }, "new") : null,
    ),
  );
}

function renderInbox() {
  const list = $("inbox-list");
  if (!state.items.length) {
    list.replaceChildren(el("li", { class: "muted empty" }, state.searching ? "Nothing matches." : "Nothing here."));
    return;
  }
  list.replaceChildren(...state.items.map((item) => (item.conversation ? inboxItem(item.conversation, item.snippet) : inboxItem(item))));
}

async function search(q) {
  const hits = await api(`/api/chat/search?q=${encodeURIComponent(q)}`);
  state.items = hits;
  $("inbox-more").hidden = true;
  renderInbox();
}

const refreshInbox = debounce(() => {
  loadInbox().catch(() => {});
  loadCounts().catch(() => {});
}, 300);

async function loadLabels() {
  const labels = await api("/api/chat/labels");
  const select = $("label-filter");
  const current = select.value;
  select.replaceChildren(el("option", { value: "" }, "Any label"), ...labels.map((l) => el("option", { value: l.label }, `${l.label} (${l.conversations})`)));
  select.value = current;
}

// ---- agents and availability ---------------------------------------------------------------------------

function renderAgents() {
  $("agents").replaceChildren(
    ...state.agents.map((a) =>
      el(
        "li",
        { class: "row between agent" },
        el("span", {}, el("span", { class: `dot ${a.availability}`, title: a.availability }), " ", a.name, a.id === me ? " (you)" : ""),
        el("span", { class: "muted small" }, `${a.availability} · ${a.load}/${a.capacity}`),
      ),
    ),
  );
  const assign = $("assign");
  const chosen = state.current && state.current.assignee ? String(state.current.assignee.id) : "";
  assign.replaceChildren(el("option", { value: "" }, "— queue —"), ...state.agents.map((a) => el("option", { value: String(a.id) }, `${a.name} (${a.availability})`)));
  assign.value = chosen;
  const mine = state.agents.find((a) => a.id === me);
  if (mine) $("availability").value = state.availability = mine.availability;
}

async function loadAgents() {
  state.agents = await api("/api/chat/agents");
  renderAgents();
}

async function setAvailability(availability) {
  state.availability = availability;
  await api("/api/chat/agents/me", { method: "PUT", body: { availability } });
  await loadAgents();
  refreshInbox();
}

function heartbeat() {
  // the console is open: keeps the agent's availability alive (offline after 90 s of silence)
  if (state.availability !== "offline") realtime.request("chat.presence", {}).catch(() => {});
}

// ---- the open conversation -----------------------------------------------------------------------------

async function openConversation(id) {
  showError("");
  typing.stop(); // to the conversation being left
  showTyping(null);
  if (state.feed) state.feed.stop();
  state.feed = null;
  state.readSent = 0;
  const view = await api(`/api/chat/conversations/${id}`);
  state.current = view;
  $("empty").hidden = true;
  $("thread-body").hidden = false;
  const feed = new ConversationFeed({ conversationId: id, channel: `conversation-staff:${id}` });
  feed.addEventListener("change", renderMessages);
  feed.addEventListener("typing", (e) => showTyping(e.detail));
  feed.addEventListener("message", (e) => e.detail && e.detail.author === "shopper" && showTyping(null));
  feed.addEventListener("receipt", (e) => {
    if (e.detail.side === "shopper" && state.current) {
      state.current.shopper_read_seq = Math.max(state.current.shopper_read_seq, e.detail.read_seq);
      state.current.shopper_delivered_seq = Math.max(state.current.shopper_delivered_seq, e.detail.delivered_seq);
      renderMessages();
    }
  });
  feed.addEventListener("conversation", (e) => {
    const hint = e.detail;
    if (hint && hint.status === "resolved") {
      showTyping(null); // nobody types into an ended conversation
      typing.stop();
    }
    if (hint && hint.contact_email !== undefined) {
      state.current = hint; // a snapshot carries the full staff view
      renderHeader();
    } else if (hint && sameHands(state.current, hint)) {
      // only the first-response clock moved (a message came or was answered): no refetch needed
      state.current.waiting_since = hint.waiting_since;
      state.current.last_seq = hint.last_seq;
      renderHeader();
    } else refreshCurrent();
  });
  feed.addEventListener("clock", (e) => {
    if (!state.current || state.current.id !== e.detail.conversation_id) return;
    state.current.waiting_since = e.detail.waiting_since;
    state.current.last_seq = Math.max(state.current.last_seq, e.detail.seq);
    renderHeader();
  });
  feed.addEventListener("context", (e) => showViewing(e.detail.viewing));
  state.feed = feed.start();
  renderHeader();
  renderMessages();
  renderInbox();
  loadContext();
}

function sameHands(c, hint) {
  return Boolean(c) && c.status === hint.status && c.owner === hint.owner && (c.assignee ? c.assignee.id : null) === hint.assignee_id;
}

async function refreshCurrent() {
  if (!state.current) return;
  state.current = await api(`/api/chat/conversations/${state.current.id}`);
  renderHeader();
  renderMessages();
}

function renderHeader() {
  const c = state.current;
  if (!c) return;
  $("contact").textContent = c.contact_name || c.contact_email || `Guest #${c.id}`;
  const owner = c.owner === "agent" && c.assignee ? `with ${c.assignee.name}` : c.owner === "bot" ? "with the bot" : "waiting in the queue";
  $("thread-meta").textContent = [`#${c.id}`, c.contact_email, c.is_guest ? "guest" : "customer", owner, c.waiting_since ? `waiting ${waited(c.waiting_since)}` : "", c.rating ? `rated ${c.rating}/5` : ""]
    .filter(Boolean)
    .join(" · ");
  $("thread-meta").classList.toggle("error", breached(c));
  $("take").hidden = c.owner === "agent" && c.assignee && c.assignee.id === me;
  $("status").value = c.status;
  $("snooze-until").hidden = c.status !== "snoozed";
  $("assign").value = c.assignee ? String(c.assignee.id) : "";
  $("team").value = c.team_id === null ? "" : String(c.team_id);
  $("labels").replaceChildren(
    ...c.labels.map((l) =>
      el("span", { class: "badge label" }, l, " ", el("button", { type: "button", class: "link", "aria-label": `remove ${l}`, onclick: () => changeLabels([], [l]) }, "×")),
    ),
  );
  $("handoff-reason").hidden = !c.handoff_reason;
  $("handoff-reason").textContent = c.handoff_reason ? `Handed over: ${c.handoff_reason}` : "";
}

function renderMessages() {
  const feed = state.feed;
  const c = state.current;
  if (!feed || !c) return;
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  const nodes = feed.items().map((m) => {
    // the shop's side (agents, the bot) sits on the right; only this agent's own messages take the accent
    // colour: the bot's answers and private notes keep their own backgrounds, and dark text on them
    const ours = m.author === "agent" || m.author === "bot";
    const mine = m.author === "agent" && m.kind !== "note" && m.author_name === root.dataset.name;
    let status = "";
    if (ours && m.public_seq) status = m.public_seq <= c.shopper_read_seq ? "Read" : m.public_seq <= c.shopper_delivered_seq ? "Delivered" : "Sent";
    return messageElement(m, { mine, ours, status });
  });
  for (const p of feed.pendingItems()) nodes.push(pendingElement(p, { onRetry: (id) => feed.retry(id), onDiscard: (id) => feed.discard(id) }));
  if (feed.hasMore) nodes.unshift(el("button", { type: "button", class: "link older", onclick: loadOlder }, "Load older messages"));
  box.replaceChildren(...nodes);
  if (atBottom) box.scrollTop = box.scrollHeight;
  markRead();
}

async function loadOlder() {
  const feed = state.feed;
  if (!feed || state.loadingOlder) return;
  state.loadingOlder = true;
  const box = $("messages");
  const height = box.scrollHeight;
  try {
    await feed.loadOlder((before) => api(`/api/chat/conversations/${feed.conversationId}/messages?before=${before}&limit=30`));
    box.scrollTop += box.scrollHeight - height;
  } finally {
    state.loadingOlder = false;
  }
}

function markRead() {
  const feed = state.feed;
  if (!feed || document.visibilityState !== "visible") return;
  const last = feed.lastPublicSeq();
  if (last > state.readSent) {
    state.readSent = last;
    realtime.request("chat.read", { conversation_id: feed.conversationId, seq: last }).catch(() => (state.readSent = 0));
  }
}

// `t`: a typing signal of someone else, or null to clear the line (a message came, the conversation ended).
let typingClear = null;
function showTyping(t) {
  if (t && t.author === "agent" && t.name === root.dataset.name) return;
  clearTimeout(typingClear);
  const who = t && (t.author === "shopper" ? "The shopper" : t.name || t.author);
  $("typing").textContent = t && t.typing ? `${who} is typing…` : "";
  if (t && t.typing) typingClear = setTimeout(() => ($("typing").textContent = ""), 8000);
}

// Typing goes to the conversation it started in, with the privacy it started with (a note's typing stays
// among staff), and "stopped" follows at once when the draft is sent or emptied.
let typingIn = null;
const typing = new TypingSignal((isTyping) => {
  if (isTyping && state.feed) typingIn = { conversation_id: state.feed.conversationId, private: $("as-note").checked };
  if (typingIn) realtime.request("chat.typing", { ...typingIn, typing: isTyping }).catch(() => {});
  if (!isTyping) typingIn = null;
});

function send() {
  const text = $("text").value.trim();
  if (!text || !state.feed) return;
  state.feed.send(text, { private: $("as-note").checked });
  $("text").value = "";
  $("canned-menu").hidden = true;
  typing.stop();
}

async function act(path, body) {
  showError("");
  try {
    state.current = await api(`/api/chat/conversations/${state.current.id}/${path}`, { method: "POST", body });
    renderHeader();
    refreshInbox();
  } catch (err) {
    showError(err.message);
    renderHeader();
  }
}

async function changeLabels(add, remove) {
  showError("");
  try {
    const result = await api(`/api/chat/conversations/${state.current.id}/labels`, { method: "POST", body: { add, remove } });
    state.current.labels = result.labels;
    renderHeader();
    loadLabels();
  } catch (err) {
    showError(err.message);
  }
}

// ---- canned responses: type "/" then a shortcut ------------------------------------------------------

function cannedMatches() {
  const text = $("text").value;
  const match = text.match(/^\/([a-z0-9_-]*)$/i);
  if (!match) return [];
  return state.canned.filter((c) => c.shortcut.startsWith(match[1].toLowerCase())).slice(0, 8);
}

function renderCanned() {
  const matches = cannedMatches();
  const menu = $("canned-menu");
  menu.hidden = !matches.length;
  state.cannedIndex = Math.min(state.cannedIndex, Math.max(0, matches.length - 1));
  menu.replaceChildren(
    ...matches.map((c, i) =>
      el("li", { role: "option", class: i === state.cannedIndex ? "active" : "", "aria-selected": String(i === state.cannedIndex), onmousedown: (e) => { e.preventDefault(); insertCanned(c); } }, el("strong", {}, `/${c.shortcut}`), " ", el("span", { class: "muted" }, c.body)),
    ),
  );
}

function insertCanned(canned) {
  $("text").value = canned.body;
  $("canned-menu").hidden = true;
  $("text").focus();
}

// ---- the shopper's context -----------------------------------------------------------------------------

function showViewing(viewing) {
  const box = document.getElementById("viewing");
  if (!box) return;
  box.replaceChildren(viewing ? el("span", {}, "Looking at ", el("a", { href: viewing.url, target: "_blank", rel: "noopener" }, viewing.name), ` (${clock(viewing.since)})`) : el("span", { class: "muted" }, "No product page open"));
}

async function loadContext() {
  if (!state.current) return;
  const id = state.current.id;
  const ctx = await api(`/api/chat/conversations/${id}/context`).catch(() => null);
  if (!ctx || !state.current || state.current.id !== id) return;
  const contact = ctx.contact;
  const sections = ctx.sections || {};
  const parts = [
    el("p", {}, el("strong", {}, contact.name || contact.email || "Guest"), el("br"), el("span", { class: "muted small" }, [contact.email, contact.is_guest ? "not signed in" : `customer #${contact.user_id}`, `${contact.conversations} conversation(s)`, contact.average_rating ? `avg rating ${contact.average_rating}` : ""].filter(Boolean).join(" · "))),
    el("div", { id: "viewing", class: "small" }),
  ];
  const cart = sections.cart;
  if (cart) {
    parts.push(el("h4", {}, `Cart (${cart.item_count})`));
    parts.push(
      cart.lines.length
        ? el("ul", { class: "plain small" }, cart.lines.map((l) => el("li", {}, `${l.quantity} × ${l.name} (${l.sku}) `, el("span", { class: "muted" }, money(l.line_total_cents ?? l.unit_price_cents * l.quantity, cart.currency.toUpperCase())))), el("li", {}, el("strong", {}, `Total ${money(cart.total_cents, cart.currency.toUpperCase())}`)))
        : el("p", { class: "muted small" }, "Empty"),
    );
  }
  const orders = sections.orders;
  if (orders) {
    parts.push(el("h4", {}, "Recent orders"));
    parts.push(
      orders.length
        ? el("ul", { class: "plain small" }, orders.map((o) => el("li", {}, el("strong", {}, o.number), " ", el("span", { class: "badge" }, o.status), " ", money(o.total_cents, o.currency.toUpperCase()), o.tracking_number ? ` · ${o.carrier} ${o.tracking_number}` : "")))
        : el("p", { class: "muted small" }, "None"),
    );
  }
  const sales = sections.flash_sales;
  if (sales) {
    parts.push(el("h4", {}, "Flash sales joined"));
    parts.push(sales.length ? el("ul", { class: "plain small" }, sales.map((s) => el("li", {}, s.name || s.title || String(s.id), s.status ? ` (${s.status})` : ""))) : el("p", { class: "muted small" }, "None"));
  }
  $("context").replaceChildren(...parts);
  showViewing(ctx.viewing);
}

// ---- wiring --------------------------------------------------------------------------------------------

function wire() {
  for (const tab of document.querySelectorAll("[data-view]")) {
    tab.addEventListener("click", () => {
      state.view = tab.dataset.view;
      state.searching = "";
      $("search").value = "";
      for (const t of document.querySelectorAll("[data-view]")) t.classList.toggle("active", t === tab);
      loadInbox();
    });
  }
  $("status-filter").addEventListener("change", () => loadInbox());
  $("label-filter").addEventListener("change", () => loadInbox());
  $("inbox-more").addEventListener("click", () => loadInbox({ more: true }));
  $("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.searching = $("search").value.trim();
    loadInbox().catch((err) => showError(err.message));
  });
  $("availability").addEventListener("change", (e) => setAvailability(e.target.value));
  $("take").addEventListener("click", () => act("take"));
  $("assign").addEventListener("change", (e) => act("assign", { agent_id: e.target.value ? Number(e.target.value) : null }));
  $("team").addEventListener("change", (e) => act("team", { team_id: e.target.value ? Number(e.target.value) : null }));
  $("status").addEventListener("change", (e) => {
    const status = e.target.value;
    if (status === "resolved") typing.stop();
    if (status === "snoozed") {
      $("snooze-until").hidden = false;
      $("snooze-until").focus();
      return;
    }
    act("status", { status });
  });
  $("snooze-until").addEventListener("change", (e) => {
    if (e.target.value) act("status", { status: "snoozed", snoozed_until: new Date(e.target.value).toISOString() });
  });
  $("label-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const label = $("label-input").value.trim();
    $("label-input").value = "";
    if (label) changeLabels([label], []);
  });
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    send();
  });
  $("text").addEventListener("input", () => {
    state.cannedIndex = 0;
    renderCanned();
    if ($("text").value.trim()) typing.input();
    else typing.stop(); // the draft was cleared
  });
  window.addEventListener("pagehide", () => typing.stop());
  $("text").addEventListener("keydown", (e) => {
    const matches = $("canned-menu").hidden ? [] : cannedMatches();
    if (matches.length && (e.key === "Tab" || e.key === "Enter")) {
      e.preventDefault();
      insertCanned(matches[state.cannedIndex] || matches[0]);
    } else if (matches.length && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      e.preventDefault();
      state.cannedIndex = (state.cannedIndex + (e.key === "ArrowDown" ? 1 : matches.length - 1)) % matches.length;
      renderCanned();
    } else if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      send();
    }
  });
  $("as-note").addEventListener("change", (e) => $("composer").classList.toggle("note-mode", e.target.checked));
  $("messages").addEventListener("scroll", () => {
    if ($("messages").scrollTop < 40 && state.feed && state.feed.hasMore) loadOlder();
  });
  document.addEventListener("visibilitychange", markRead);

  let wasOpen = realtime.state === "open";
  realtime.watchState((s) => {
    $("connection").textContent = s === "open" ? "live" : s === "reconnecting" ? "reconnecting…" : s === "idle" ? "connecting" : s;
    $("connection").classList.toggle("down", s !== "open");
    const reopened = s === "open" && !wasOpen;
    wasOpen = s === "open";
    if (reopened) {
      // after a reconnect: the channels replay what was missed; lists and state are fetched again
      refreshInbox();
      loadAgents().catch(() => {});
      if (state.current) refreshCurrent().catch(() => {});
    }
  });
  realtime.subscribe("agents", (msg) => {
    if (msg.type === "snapshot") {
      if (msg.snapshot) {
        state.agents = msg.snapshot.agents;
        renderAgents();
      }
      refreshInbox();
    } else if (msg.event === "chat.inbox") {
      refreshInbox(); // the open conversation's changes come on its own staff channel
    } else if (msg.event === "chat.availability") {
      loadAgents().catch(() => {});
    }
  });
  setInterval(heartbeat, 30000);
  setInterval(() => {
    renderInbox(); // waiting times and SLA marks move on
    if (state.current) renderHeader();
  }, 15000);
  setInterval(() => state.current && loadContext(), 20000);
}

async function main() {
  wire();
  const [teams, canned] = await Promise.all([api("/api/chat/teams"), api("/api/chat/canned")]);
  state.teams = teams;
  state.canned = canned;
  $("team").replaceChildren(el("option", { value: "" }, "Shared inbox"), ...teams.map((t) => el("option", { value: String(t.id) }, t.name)));
  await Promise.all([loadAgents(), loadInbox(), loadCounts(), loadLabels()]);
  const wanted = new URLSearchParams(window.location.search).get("conversation");
  if (wanted) openConversation(Number(wanted)).catch((err) => showError(err.message));
}

main().catch((err) => showError(err.message));
