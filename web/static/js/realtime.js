// The real-time client: one WebSocket per tab for every live feature (docs/protocol.md).
//
//   import { realtime } from "/static/js/realtime.js";
//   const sub = realtime.subscribe("product:aud-001", (msg) => {
//     if (msg.type === "snapshot") render(msg.snapshot);   // fresh state: replace what you show
//     else if (msg.event === "stock.changed") update(msg.data);
//   });
//   sub.unsubscribe();
//   realtime.watchState((state) => ...); // now and on change: idle | connecting | open | reconnecting | offline
//   const reply = await realtime.request("chat.send", { conversation_id: 7, text: "hi" });
//   realtime.now();   // the server's clock, corrected for skew and latency
//
// It reconnects with backoff and resumes every channel from the last position it saw: missed events
// arrive in order, or a snapshot when the server no longer holds them. A gap or an epoch change on a
// reliable channel, or a `lagged` notice, resyncs that channel the same way.

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 20000;
const FLOOD_DELAY_MS = 15000; // after the server cut us off for sending too much
const REQUEST_TIMEOUT_MS = 15000;
const RETRYABLE = ["unavailable", "throttled", "internal_error"];
const CLOCK_SAMPLES = 8;
const CLOCK_REFRESH_MS = 60000;

function defaultUrl() {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}/ws`;
}

export class RealtimeError extends Error {
  constructor(frame) {
    super(frame.message || frame.code);
    this.code = frame.code;
    this.frame = frame;
  }
}

export class RealtimeClient extends EventTarget {
  constructor({ url } = {}) {
    super();
    this.url = url || defaultUrl();
    this.state = "idle";
    this.offset = 0; // server clock minus local clock, ms
    this._channels = new Map(); // name -> {handlers, epoch, seq, policy, live, resyncing, snapshot}
    this._pending = new Map(); // request id -> {resolve, reject, timer, pingSentAt}
    this._ids = 0;
    this._subscribing = new Map(); // subscribe frame id -> channel name, until answered
    this._attempt = 0;
    this._ws = null;
    this._closedByUs = false;
    this._outbox = [];
    this._rate = 10;
    this._tokens = 10;
    this._refilledAt = performance.now();
    this._flushTimer = null;
    this._heartbeatMs = 25000;
    this._lastFrameAt = 0;
    this._watchdog = null;
    this._clockTimer = null;
    this._clock = []; // [{rtt, offset}]
    this._retryTimer = null;
    window.addEventListener("online", () => this._retryNow());
  }

  // ---- public ---------------------------------------------------------------------------------------

  connect() {
    this._closedByUs = false;
    if (!this._ws && !this._retryTimer) this._open();
    return this;
  }

  close() {
    this._closedByUs = true;
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    if (this._ws) this._ws.close(1000);
    this._setState("offline");
  }

  now() {
    return Date.now() + this.offset;
  }

  subscribe(channel, handler) {
    let ch = this._channels.get(channel);
    if (!ch) {
      ch = { handlers: new Set(), epoch: null, seq: 0, policy: null, live: false, resyncing: false, snapshot: undefined };
      this._channels.set(channel, ch);
      if (this.state === "open") this._subscribe(channel, ch, false);
    }
    ch.handlers.add(handler);
    if (ch.live && ch.snapshot !== undefined) this._call(handler, { type: "snapshot", channel, snapshot: ch.snapshot });
    this.connect();
    return {
      unsubscribe: () => {
        ch.handlers.delete(handler);
        if (ch.handlers.size || this._channels.get(channel) !== ch) return;
        this._channels.delete(channel);
        if (this.state === "open") this._send({ type: "unsubscribe", channel });
      },
    };
  }

  request(type, fields = {}, { timeout = REQUEST_TIMEOUT_MS } = {}) {
    this.connect();
    return new Promise((resolve, reject) => {
      const id = ++this._ids;
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new RealtimeError({ code: "timeout", message: `no answer to ${type}` }));
      }, timeout);
      this._pending.set(id, { resolve, reject, timer });
      this._send({ ...fields, type, id });
    });
  }

  // ---- connection ------------------------------------------------------------------------------------

  // `render` gets the connection's state now and on every change: a page's script may start after another
  // module opened the shared socket, when the "open" event has already gone by. Returns a stop function.
  watchState(render) {
    render(this.state);
    const listener = (e) => render(e.detail.state);
    this.addEventListener("state", listener);
    return () => this.removeEventListener("state", listener);
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state } }));
  }

  _open() {
    this._setState(this._attempt ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.url);
    this._ws = ws;
    ws.onmessage = (e) => this._onMessage(e.data);
    ws.onclose = (e) => this._onClose(ws, e.code);
    ws.onerror = () => {}; // a close event follows
  }

  _onClose(ws, code) {
    if (this._ws !== ws) return;
    this._ws = null;
    clearInterval(this._watchdog);
    clearInterval(this._clockTimer);
    clearTimeout(this._flushTimer);
    this._flushTimer = null;
    this._outbox = [];
    for (const [id, p] of this._pending) {
      clearTimeout(p.timer);
      p.reject(new RealtimeError({ code: "disconnected", message: "the connection closed" }));
      this._pending.delete(id);
    }
    this._subscribing.clear();
    for (const ch of this._channels.values()) ch.live = ch.resyncing = false;
    if (this._closedByUs) return;
    const backoff = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** this._attempt);
    const delay = Math.max(code === 1008 ? FLOOD_DELAY_MS : 0, backoff * (0.5 + Math.random() / 2));
    this._attempt += 1;
    this._setState("reconnecting");
    this._retryTimer = setTimeout(() => {
      this._retryTimer = null;
      this._open();
    }, delay);
  }

  _retryNow() {
    if (this._retryTimer && !this._closedByUs) {
      clearTimeout(this._retryTimer);
      this._retryTimer = null;
      this._open();
    }
  }

  _abandon() {
    // the socket went silent: do not wait for the browser to notice; start over
    const ws = this._ws;
    if (!ws) return;
    ws.onmessage = null;
    ws.close(4000);
    this._onClose(ws, 4000);
  }

  // ---- frames in -------------------------------------------------------------------------------------

  _onMessage(raw) {
    this._lastFrameAt = performance.now();
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      return;
    }
    switch (frame.type) {
      case "event":
        return this._onEvent(frame);
      case "welcome":
        return this._onWelcome(frame);
      case "subscribed":
        this._subscribing.delete(frame.id);
        this._settle(frame, frame);
        return this._onSubscribed(frame);
      case "lagged": {
        const ch = this._channels.get(frame.channel);
        if (ch) this._resync(frame.channel, ch, true);
        return;
      }
      case "ping":
        if (frame.id === undefined) {
          this._send({ type: "pong" });
          if (!this._clock.length) this.offset = frame.now - Date.now();
        }
        return;
      case "pong":
        return this._onPong(frame);
      case "reply":
        return this._settle(frame, frame.data);
      case "error":
        if (frame.id !== undefined && this._pending.has(frame.id)) return this._settle(frame, null, new RealtimeError(frame));
        if (this._subscribing.has(frame.id)) {
          const name = this._subscribing.get(frame.id);
          this._subscribing.delete(frame.id);
          return this._onSubscribeError(name, frame);
        }
        this.dispatchEvent(new CustomEvent("error", { detail: frame }));
        return;
      default:
        this.dispatchEvent(new CustomEvent("frame", { detail: frame }));
    }
  }

  _onWelcome(frame) {
    this._attempt = 0;
    this._heartbeatMs = (frame.heartbeat || 25) * 1000;
    // stay under the server's budget: half its burst, its steady rate
    this._rate = (frame.limits && frame.limits.frames_per_second) || 10;
    this._tokens = this._rate;
    this.offset = frame.now - Date.now();
    this._clock = [];
    this._setState("open");
    for (const [name, ch] of this._channels) this._subscribe(name, ch, ch.epoch !== null);
    this._measureClock();
    this._clockTimer = setInterval(() => this._measureClock(), CLOCK_REFRESH_MS);
    this._lastFrameAt = performance.now();
    clearInterval(this._watchdog);
    this._watchdog = setInterval(() => {
      if (performance.now() - this._lastFrameAt > 2.5 * this._heartbeatMs) this._abandon();
    }, this._heartbeatMs / 2);
  }

  _subscribe(name, ch, resume) {
    ch.resyncing = true;
    const id = ++this._ids;
    this._subscribing.set(id, name);
    const frame = { type: "subscribe", channel: name, id };
    if (resume && ch.epoch !== null) frame.since = { epoch: ch.epoch, seq: ch.seq };
    this._send(frame);
  }

  // A subscribe the server could not take now (busy) is sent again after its retry_after_ms; one it
  // refused (forbidden, no such channel) is reported to the channel's handlers.
  _onSubscribeError(name, frame) {
    const ch = this._channels.get(name);
    if (!ch) return;
    ch.resyncing = false;
    if (RETRYABLE.includes(frame.code)) {
      const wait = Math.min(Math.max(frame.retry_after_ms || 1000, 250), 30000) * (0.75 + Math.random() / 2);
      setTimeout(() => {
        if (this._channels.get(name) === ch && this.state === "open") this._resync(name, ch, ch.epoch !== null);
      }, wait);
    } else {
      this._emit(name, ch, { type: "error", channel: name, error: frame });
    }
  }

  _resync(name, ch, resume) {
    if (ch.resyncing) return;
    this._subscribe(name, ch, resume);
  }

  _onSubscribed(frame) {
    const ch = this._channels.get(frame.channel);
    if (!ch) return;
    ch.policy = frame.policy;
    ch.live = true;
    ch.resyncing = false;
    if (!frame.recovered) {
      ch.snapshot = frame.snapshot;
      this._emit(frame.channel, ch, { type: "snapshot", channel: frame.channel, snapshot: frame.snapshot });
    }
    for (const event of frame.events || []) this._emit(frame.channel, ch, event);
    ch.epoch = frame.epoch;
    ch.seq = frame.seq;
  }

  _onEvent(frame) {
    const ch = this._channels.get(frame.channel);
    if (!ch || !ch.live || ch.resyncing) return;
    if (frame.seq !== undefined) {
      if (frame.epoch !== ch.epoch) return this._resync(frame.channel, ch, false); // numbering restarted
      if (frame.seq <= ch.seq) return; // seen
      if (frame.seq > ch.seq + 1 && ch.policy === "reliable") return this._resync(frame.channel, ch, true);
      ch.seq = frame.seq;
    }
    this._emit(frame.channel, ch, frame);
  }

  _emit(name, ch, msg) {
    for (const handler of [...ch.handlers]) this._call(handler, msg);
  }

  _call(handler, msg) {
    try {
      handler(msg);
    } catch (err) {
      console.error("realtime handler failed", err);
    }
  }

  _settle(frame, value, error) {
    if (frame.id === undefined) return;
    const pending = this._pending.get(frame.id);
    if (!pending) return;
    this._pending.delete(frame.id);
    clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve(value);
  }

  // ---- clock -----------------------------------------------------------------------------------------

  _measureClock() {
    const id = ++this._ids;
    const sentAt = Date.now();
    const timer = setTimeout(() => this._pending.delete(id), REQUEST_TIMEOUT_MS);
    this._pending.set(id, { resolve: () => {}, reject: () => {}, timer, sentAt });
    this._send({ type: "ping", id });
  }

  _onPong(frame) {
    const pending = this._pending.get(frame.id);
    if (!pending || pending.sentAt === undefined) return this._settle(frame, frame);
    this._pending.delete(frame.id);
    clearTimeout(pending.timer);
    const receivedAt = Date.now();
    this._clock.push({ rtt: receivedAt - pending.sentAt, offset: frame.now - (pending.sentAt + receivedAt) / 2 });
    if (this._clock.length > CLOCK_SAMPLES) this._clock.shift();
    // the sample with the shortest round trip has the smallest error
    this.offset = this._clock.reduce((best, s) => (s.rtt < best.rtt ? s : best)).offset;
    if (this._clock.length < 3) setTimeout(() => this.state === "open" && this._measureClock(), 1000);
    this.dispatchEvent(new CustomEvent("clock", { detail: { offset: this.offset } }));
  }

  // ---- frames out (paced to the server's frame budget) --------------------------------------------

  _send(frame) {
    this._outbox.push(JSON.stringify(frame));
    this._flush();
  }

  _flush() {
    if (this._flushTimer || !this._ws || this._ws.readyState !== WebSocket.OPEN) return;
    const now = performance.now();
    this._tokens = Math.min(this._rate, this._tokens + ((now - this._refilledAt) / 1000) * this._rate);
    this._refilledAt = now;
    while (this._outbox.length && this._tokens >= 1) {
      this._tokens -= 1;
      this._ws.send(this._outbox.shift());
    }
    if (this._outbox.length) {
      this._flushTimer = setTimeout(() => {
        this._flushTimer = null;
        this._flush();
      }, Math.ceil(1000 / this._rate));
    }
  }
}

// One connection per tab, shared by every module of the page.
export const realtime = new RealtimeClient();
