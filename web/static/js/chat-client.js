// One conversation, live: its stored items in sequence order, and an outbox that survives reloads.
//
//   const feed = new ConversationFeed({ conversationId: 7, channel: "conversation:7" });
//   feed.addEventListener("change", () => render(feed.items(), feed.pendingItems()));
//   feed.addEventListener("typing", (e) => e.detail);    // {author, name, typing}
//   feed.addEventListener("receipt", (e) => e.detail);   // {side, delivered_seq, read_seq}
//   feed.addEventListener("conversation", (e) => e.detail); // a state hint: refetch what you show
//   feed.addEventListener("message", (e) => e.detail);   // a live message (also in "change")
//   feed.send("hello");                                   // shown at once as "sending"
//
// The database is the truth: the channel replays from it after every reconnect (realtime.js resumes from
// the last sequence), and whatever was typed but not acknowledged is re-sent with the same client id, so
// the server stores it once. Nothing is lost across a network drop or a page reload.
import { realtime } from "/static/js/realtime.js";

const STORE = "engage.chat.outbox.";

function newClientId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 12)}`;
}

function load(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || "[]");
  } catch {
    return [];
  }
}

export class ConversationFeed extends EventTarget {
  constructor({ conversationId, channel }) {
    super();
    this.conversationId = conversationId;
    this.channel = channel;
    this.hasMore = false;
    this._items = new Map(); // seq -> message view
    this._byClient = new Map(); // client_id -> seq
    this._storeKey = STORE + channel;
    this._outbox = load(this._storeKey); // [{client_id, text, private, failed}]
    this._inflight = new Set();
    this._retryTimer = null;
    this._subscription = null;
    this._onState = (e) => {
      if (e.detail.state === "open") this._flush();
    };
  }

  start() {
    this._subscription = realtime.subscribe(this.channel, (msg) => this._onMessage(msg));
    realtime.addEventListener("state", this._onState);
    if (realtime.state === "open") this._flush();
    return this;
  }

  stop() {
    if (this._subscription) this._subscription.unsubscribe();
    this._subscription = null;
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    realtime.removeEventListener("state", this._onState);
  }

  items() {
    return [...this._items.values()].sort((a, b) => a.seq - b.seq);
  }

  pendingItems() {
    return this._outbox.filter((p) => !this._byClient.has(p.client_id));
  }

  lastSeq() {
    let last = 0;
    for (const seq of this._items.keys()) last = Math.max(last, seq);
    return last;
  }

  lastPublicSeq() {
    let last = 0;
    for (const m of this._items.values()) if (m.public_seq) last = Math.max(last, m.public_seq);
    return last;
  }

  oldestSeq() {
    let oldest = Infinity;
    for (const seq of this._items.keys()) oldest = Math.min(oldest, seq);
    return oldest === Infinity ? null : oldest;
  }

  // Older items, fetched over HTTP (history pages backwards).
  async loadOlder(fetchPage) {
    const oldest = this.oldestSeq();
    if (oldest === null || oldest <= 1) return 0;
    const page = await fetchPage(oldest);
    for (const m of page.items) this._add(m);
    this.hasMore = page.has_more;
    this._changed();
    return page.items.length;
  }

  send(text, { private: isPrivate = false, clientId = newClientId() } = {}) {
    this._outbox.push({ client_id: clientId, text, private: isPrivate });
    this._save();
    this._changed();
    this._flush();
    return clientId;
  }

  retry(clientId) {
    const item = this._outbox.find((p) => p.client_id === clientId);
    if (item) item.failed = "";
    this._flush();
  }

  discard(clientId) {
    this._outbox = this._outbox.filter((p) => p.client_id !== clientId);
    this._save();
    this._changed();
  }

  // ---- internals ------------------------------------------------------------------------------------

  _onMessage(msg) {
    if (msg.type === "snapshot") {
      const snap = msg.snapshot || {};
      for (const m of snap.messages || []) this._add(m);
      if (this._items.size <= (snap.messages || []).length) this.hasMore = Boolean(snap.has_more);
      this._changed();
      this._emit("conversation", snap.conversation || null);
      return;
    }
    const data = msg.data || {};
    switch (msg.event) {
      case "chat.message":
        this._add(data.message);
        this._changed();
        this._emit("message", data.message || null);
        if ("waiting_since" in data) this._emit("clock", data); // staff: the message moved the first-response clock
        break;
      case "chat.typing":
        this._emit("typing", data);
        break;
      case "chat.receipt":
        this._emit("receipt", data);
        break;
      case "chat.conversation":
        this._emit("conversation", data);
        break;
      case "chat.context":
        this._emit("context", data);
        break;
      default:
        break;
    }
  }

  _add(message) {
    if (!message || typeof message.seq !== "number") return;
    this._items.set(message.seq, message);
    this._byClient.set(message.client_id, message.seq);
    if (this._outbox.some((p) => p.client_id === message.client_id)) {
      this._outbox = this._outbox.filter((p) => p.client_id !== message.client_id);
      this._save();
    }
  }

  async _flush() {
    if (realtime.state !== "open") return;
    for (const item of [...this._outbox]) {
      if (this._inflight.has(item.client_id) || item.failed || this._byClient.has(item.client_id)) continue;
      this._inflight.add(item.client_id);
      realtime
        .request("chat.send", {
          conversation_id: this.conversationId,
          text: item.text,
          client_id: item.client_id,
          private: Boolean(item.private),
        })
        .then((ack) => {
          item.acked = ack.seq; // stored: the channel brings the message itself
          this._save();
          this._changed();
        })
        .catch((err) => {
          // dropped connection: the next "open" sends it again; a busy server: again after its
          // retry_after_ms (same client_id, so never twice); a refusal (too long, not allowed) stays
          if (["throttled", "internal_error", "unavailable", "timeout"].includes(err.code)) {
            this._retryLater(err.frame?.retry_after_ms);
          } else if (err.code !== "disconnected") {
            item.failed = err.message;
            this._save();
            this._changed();
          }
        })
        .finally(() => this._inflight.delete(item.client_id));
    }
  }

  _retryLater(afterMs) {
    if (this._retryTimer) return;
    const wait = Math.min(Math.max(afterMs || 1000, 250), 30000) * (0.75 + Math.random() / 2);
    this._retryTimer = setTimeout(() => {
      this._retryTimer = null;
      this._flush();
    }, wait);
  }

  _save() {
    const kept = this._outbox.filter((p) => !this._byClient.has(p.client_id));
    if (kept.length) localStorage.setItem(this._storeKey, JSON.stringify(kept));
    else localStorage.removeItem(this._storeKey);
  }

  _changed() {
    this.dispatchEvent(new CustomEvent("change"));
  }

  _emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }
}

// Typing indicators: at most one "typing" frame every few seconds, and "stopped" after a pause.
export class TypingSignal {
  constructor(send, { every = 3000, idle = 4000 } = {}) {
    this._send = send;
    this._every = every;
    this._idle = idle;
    this._lastSent = 0;
    this._timer = null;
    this._typing = false;
  }

  input() {
    const now = Date.now();
    if (!this._typing || now - this._lastSent > this._every) {
      this._typing = true;
      this._lastSent = now;
      this._send(true);
    }
    clearTimeout(this._timer);
    this._timer = setTimeout(() => this.stop(), this._idle);
  }

  stop() {
    clearTimeout(this._timer);
    if (this._typing) {
      this._typing = false;
      this._send(false);
    }
  }
}
