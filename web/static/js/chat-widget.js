// The storefront chat widget: on every shop page, for guests and signed-in shoppers.
//
// It shows the shopper's conversation live (agent, bot and shopper messages, typing, delivered/read,
// the agent's name, a reconnecting notice), keeps unsent messages across reloads and drops, sends files,
// asks for a person, and at the end offers a rating and the transcript (download or email).
import { api, ApiError, el } from "/static/js/api.js";
import { ConversationFeed, TypingSignal } from "/static/js/chat-client.js";
import { messageElement, pendingElement } from "/static/js/chat-render.js";
import { realtime } from "/static/js/realtime.js";

const CONSOLE_PATHS = /^\/(console|marketing|admin)(\/|$)/;
const OPEN_KEY = "engage.chat.open";
const FIRST_KEY = "engage.chat.first"; // the first message, until its conversation exists

function newClientId() {
  return window.crypto && crypto.randomUUID ? crypto.randomUUID().replace(/-/g, "") : `${Date.now()}${Math.random()}`.replace(".", "");
}

function csrf() {
  const hit = document.cookie.split("; ").find((c) => c.startsWith("engage_csrf="));
  return hit ? decodeURIComponent(hit.slice("engage_csrf=".length)) : "";
}

class ChatWidget {
  constructor() {
    this.conversation = null; // the shopper's view of it
    this.feed = null;
    this.typingTimer = null;
    this.readSent = 0;
    this.deliveredSent = 0;
    this.build();
    this.typing = new TypingSignal((typing) => {
      if (this.conversation) realtime.request("chat.typing", { conversation_id: this.conversation.id, typing }).catch(() => {});
    });
    realtime.watchState((state) => this.showConnection(state));
  }

  // ---- layout ----------------------------------------------------------------------------------------

  build() {
    this.launcher = el("button", { class: "primary chat-launcher", type: "button", "aria-expanded": "false", onclick: () => this.toggle() }, "Chat with us");
    this.title = el("strong", {}, "Chat with us");
    this.who = el("span", { class: "muted who" }, "We usually answer within a few minutes");
    this.connection = el("span", { class: "connection", hidden: true, role: "status" });
    this.messages = el("div", { class: "messages", "aria-live": "polite", role: "log" });
    this.typingLine = el("div", { class: "typing", "aria-live": "polite" });
    this.text = el("textarea", { rows: "2", placeholder: "Write a message…", "aria-label": "Message", maxlength: "4000" });
    this.text.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) {
        e.preventDefault();
        this.submit();
      }
    });
    this.text.addEventListener("input", () => {
      if (this.text.value.trim()) this.typing.input();
      else this.typing.stop(); // the draft was cleared
    });
    window.addEventListener("pagehide", () => this.typing.stop());
    this.file = el("input", { type: "file", accept: "image/png,image/jpeg,image/gif,image/webp,application/pdf", hidden: true, onchange: () => this.upload() });
    this.composer = el(
      "form",
      { class: "composer", onsubmit: (e) => { e.preventDefault(); this.submit(); } },
      el("button", { type: "button", class: "icon", title: "Send a photo or PDF", "aria-label": "Attach a file", onclick: () => this.file.click() }, "+"),
      this.text,
      this.file,
      el("button", { class: "primary", type: "submit" }, "Send"),
    );
    this.human = el("button", { type: "button", class: "link", hidden: true, onclick: () => this.askForHuman() }, "Talk to a person");
    this.end = el("button", { type: "button", class: "link", hidden: true, onclick: () => this.endChat() }, "End chat");
    this.error = el("p", { class: "error", role: "alert", hidden: true });
    this.ending = el("div", { class: "chat-end", hidden: true });
    this.away = el("div", { class: "chat-away stack", hidden: true, role: "status" });
    this.panel = el(
      "section",
      { class: "chat-panel", hidden: true, "aria-label": "Chat" },
      el("header", { class: "chat-head" }, el("div", {}, this.title, el("br"), this.who), el("button", { type: "button", class: "link", "aria-label": "Close chat", onclick: () => this.toggle(false) }, "✕")),
      this.connection,
      this.messages,
      this.typingLine,
      this.away,
      this.error,
      el("div", { class: "row chat-actions" }, this.human, this.end),
      this.composer,
    );
    document.body.append(this.launcher, this.panel);
  }

  toggle(open = this.panel.hidden) {
    this.panel.hidden = !open;
    this.launcher.setAttribute("aria-expanded", String(open));
    sessionStorage.setItem(OPEN_KEY, open ? "1" : "");
    if (open) {
      this.text.focus();
      this.markRead();
    }
  }

  showConnection(state) {
    const down = state === "reconnecting" || state === "offline";
    this.connection.hidden = !down || !this.conversation;
    this.connection.className = `connection${down ? " down" : ""}`;
    this.connection.textContent = state === "offline" ? "Offline" : "Reconnecting… your messages will be sent";
  }

  showError(message) {
    this.error.textContent = message || "";
    this.error.hidden = !message;
  }

  // ---- conversation ----------------------------------------------------------------------------------

  async start() {
    try {
      const current = await api("/api/chat/conversations/current");
      if (current) this.attach(current);
      else {
        const pending = sessionStorage.getItem(FIRST_KEY);
        if (pending) this.startWith(JSON.parse(pending)); // the page was reloaded mid-send
      }
    } catch {
      // no session yet or the server is away: the widget still opens and retries on send
    }
    if (sessionStorage.getItem(OPEN_KEY)) this.toggle(true);
    this.reportViewing();
  }

  attach(conversation) {
    this.conversation = conversation;
    if (this.feed && this.feed.conversationId === conversation.id) return this.renderState();
    if (this.feed) this.feed.stop();
    this.feed = new ConversationFeed({ conversationId: conversation.id, channel: `conversation:${conversation.id}` });
    this.feed.addEventListener("change", () => this.render());
    this.feed.addEventListener("typing", (e) => this.showTyping(e.detail));
    this.feed.addEventListener("message", (e) => e.detail && e.detail.author !== "shopper" && this.showTyping(null));
    this.feed.addEventListener("receipt", (e) => this.onReceipt(e.detail));
    this.feed.addEventListener("conversation", (e) => this.onConversation(e.detail));
    this.feed.start();
    this.messages.addEventListener("scroll", () => {
      if (this.messages.scrollTop < 40 && this.feed.hasMore) this.loadOlder();
    });
    this.renderState();
  }

  async refresh() {
    if (!this.conversation) return;
    try {
      this.conversation = await api(`/api/chat/conversations/${this.conversation.id}`);
      this.renderState();
      this.render();
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) this.reset();
    }
  }

  reset() {
    if (this.feed) this.feed.stop();
    this.feed = null;
    this.conversation = null;
    this.messages.replaceChildren();
    this.renderState();
  }

  onConversation(hint) {
    if (!hint || !this.conversation) return;
    if (hint.status === "resolved") this.showTyping(null); // at once, before the view is fetched again
    // snapshot (full view) or a live hint (status/owner/agent): the stored view is what we show
    if (hint.id !== undefined) {
      this.conversation = hint;
      this.renderState();
    } else {
      this.refresh();
    }
  }

  onReceipt(receipt) {
    if (!this.conversation || receipt.side !== "staff") return;
    this.conversation.agent_delivered_seq = Math.max(this.conversation.agent_delivered_seq, receipt.delivered_seq);
    this.conversation.agent_read_seq = Math.max(this.conversation.agent_read_seq, receipt.read_seq);
    this.render();
  }

  // `t`: the other side's typing signal, or null to clear the line (their message came, the chat ended).
  showTyping(t) {
    if (t && t.author === "shopper") return;
    clearTimeout(this.typingTimer);
    const typing = t && t.typing && !(this.conversation && this.conversation.status === "resolved");
    this.typingLine.textContent = typing ? `${t.name || (t.author === "bot" ? "Assistant" : "Support")} is typing…` : "";
    if (typing) this.typingTimer = setTimeout(() => (this.typingLine.textContent = ""), 8000);
  }

  renderState() {
    const c = this.conversation;
    this.showConnection(realtime.state);
    if (!c) {
      this.title.textContent = "Chat with us";
      this.who.textContent = "We usually answer within a few minutes";
      this.human.hidden = this.end.hidden = true;
      this.ending.hidden = true;
      this.composer.hidden = false;
      return;
    }
    const resolved = c.status === "resolved";
    if (c.agent) this.who.textContent = `You're chatting with ${c.agent.name}`;
    else if (c.owner === "bot") this.who.textContent = "Our assistant answers right away";
    else this.who.textContent = "Waiting for a person from our team…";
    if (!c.agent && c.owner === "queue" && !resolved) this.showAway(c);
    else this.away.hidden = true;
    this.human.hidden = c.owner !== "bot" || resolved;
    this.end.hidden = resolved;
    this.ending.hidden = !resolved;
    if (resolved) {
      this.showTyping(null);
      this.typing.stop();
      this.renderEnding();
      this.render();
      this.messages.scrollTop = this.messages.scrollHeight;
    }
  }

  render() {
    if (!this.feed) return;
    const atBottom = this.messages.scrollHeight - this.messages.scrollTop - this.messages.clientHeight < 60;
    const c = this.conversation || {};
    const nodes = this.feed.items().map((m) => {
      const mine = m.author === "shopper";
      let status = "";
      if (mine) status = m.seq <= (c.agent_read_seq || 0) ? "Read" : m.seq <= (c.agent_delivered_seq || 0) ? "Delivered" : "Sent";
      return messageElement(m, { mine, status, onSuggestion: (text) => this.sendText(text) });
    });
    for (const p of this.feed.pendingItems()) {
      nodes.push(pendingElement(p, { onRetry: (id) => this.feed.retry(id), onDiscard: (id) => this.feed.discard(id) }));
    }
    if (!this.ending.hidden) nodes.push(this.ending); // rating and transcript follow the last message
    this.messages.replaceChildren(...nodes);
    if (atBottom) this.messages.scrollTop = this.messages.scrollHeight;
    this.markRead();
  }

  async loadOlder() {
    if (this.loadingOlder) return;
    this.loadingOlder = true;
    const height = this.messages.scrollHeight;
    try {
      await this.feed.loadOlder((before) => api(`/api/chat/conversations/${this.conversation.id}/messages?before=${before}&limit=30`));
      this.messages.scrollTop += this.messages.scrollHeight - height;
    } finally {
      this.loadingOlder = false;
    }
  }

  markRead() {
    if (!this.feed || !this.conversation) return;
    const last = this.feed.lastSeq();
    const visible = !this.panel.hidden && document.visibilityState === "visible";
    if (visible && last > this.readSent) {
      this.readSent = this.deliveredSent = last;
      realtime.request("chat.read", { conversation_id: this.conversation.id, seq: last }).catch(() => (this.readSent = 0));
    } else if (!visible && last > this.deliveredSent) {
      this.deliveredSent = last;
      realtime.request("chat.delivered", { conversation_id: this.conversation.id, seq: last }).catch(() => (this.deliveredSent = 0));
    }
  }

  // ---- sending ---------------------------------------------------------------------------------------

  submit() {
    const text = this.text.value.trim();
    if (!text) return;
    this.text.value = "";
    this.typing.stop();
    this.sendText(text);
  }

  sendText(text) {
    this.showError("");
    if (this.conversation && this.conversation.status !== "resolved") {
      this.feed.send(text);
      return;
    }
    this.startWith({ text, client_id: newClientId() });
  }

  async startWith(first) {
    sessionStorage.setItem(FIRST_KEY, JSON.stringify(first));
    this.messages.append(pendingElement(first));
    for (let attempt = 0; ; attempt += 1) {
      try {
        const started = await api("/api/chat/conversations", { method: "POST", body: first });
        sessionStorage.removeItem(FIRST_KEY);
        this.attach(started.conversation);
        return;
      } catch (err) {
        if (err instanceof ApiError && err.status < 500 && err.status !== 429) {
          sessionStorage.removeItem(FIRST_KEY);
          this.showError(err.message);
          this.render();
          return;
        }
        // offline or the server is busy: the same client id makes the retry safe
        await new Promise((r) => setTimeout(r, Math.min(15000, 1000 * 2 ** attempt)));
      }
    }
  }

  async upload() {
    const file = this.file.files[0];
    this.file.value = "";
    if (!file) return;
    this.showError("");
    try {
      if (!this.conversation || this.conversation.status === "resolved") {
        const started = await api("/api/chat/conversations", { method: "POST", body: {} });
        this.attach(started.conversation);
      }
      const params = new URLSearchParams({ filename: file.name, client_id: newClientId() });
      const res = await fetch(`/api/chat/conversations/${this.conversation.id}/attachments?${params}`, {
        method: "POST",
        body: file,
        credentials: "same-origin",
        headers: { "x-csrftoken": csrf(), "Content-Type": "application/octet-stream" },
      });
      if (!res.ok) {
        const problem = await res.json().catch(() => ({}));
        this.showError(problem.detail || "The file could not be sent.");
      }
    } catch {
      this.showError("The file could not be sent; check your connection.");
    }
  }

  async askForHuman() {
    try {
      this.conversation = await api(`/api/chat/conversations/${this.conversation.id}/handoff`, {
        method: "POST",
        body: { reason: "the shopper asked for a person" },
      });
      this.renderState();
    } catch (err) {
      this.showError(err.message);
    }
  }

  async endChat() {
    try {
      this.conversation = await api(`/api/chat/conversations/${this.conversation.id}/status`, { method: "POST", body: { status: "resolved" } });
      this.renderState();
    } catch (err) {
      this.showError(err.message);
    }
  }

  // ---- nobody online: say so, the office hours, an email for the reply -----------------------------

  async showAway(c) {
    let status;
    try {
      status = await api("/api/chat/support-status");
    } catch {
      return;
    }
    if (this.conversation !== c) return;
    if (status.agents_online > 0) {
      this.who.textContent = `Waiting for a person from our team: about ${status.expected_wait_minutes} min`;
      this.away.hidden = true;
      return;
    }
    this.who.textContent = "Nobody of our team is online right now";
    const email = el("input", { type: "email", required: true, placeholder: "you@example.com", "aria-label": "Your email for our answer" });
    const done = el("p", { class: "ok", hidden: true }, "Thank you: our answer will also come to that address.");
    const form = el(
      "form",
      {
        class: "row",
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            await api(`/api/chat/conversations/${c.id}/contact`, { method: "POST", body: { email: email.value } });
            done.hidden = false;
            form.hidden = true;
          } catch (err) {
            this.showError(err.message);
          }
        },
      },
      email,
      el("button", { type: "submit" }, "Send"),
    );
    const children = [el("p", {}, `We are here ${status.office_hours}. Your message waits for us; leave your email and we will answer there too.`)];
    if (status.can_leave_email) children.push(form, done);
    this.away.replaceChildren(...children);
    this.away.hidden = false;
  }

  // ---- the end: rating and transcript -------------------------------------------------------------

  renderEnding() {
    const c = this.conversation;
    const id = c.id;
    const stars = el("div", { class: "stars", role: "radiogroup", "aria-label": "Rate this conversation" });
    let score = c.rating || 0;
    const paint = () => {
      for (const b of stars.children) b.classList.toggle("on", Number(b.dataset.score) <= score);
    };
    for (let n = 1; n <= 5; n += 1) {
      stars.append(
        el("button", { type: "button", class: "star", dataset: { score: n }, "aria-label": `${n} of 5`, onclick: () => { score = n; paint(); } }, "★"),
      );
    }
    paint();
    const comment = el("textarea", { rows: "2", placeholder: "Anything to add? (optional)", maxlength: "1000", "aria-label": "Comment" });
    const thanks = el("p", { class: "ok", hidden: !c.rating }, "Thank you for your rating!");
    const rate = el(
      "form",
      {
        class: "stack rating",
        onsubmit: async (e) => {
          e.preventDefault();
          if (!score) return this.showError("Pick 1 to 5 stars.");
          try {
            const saved = await api(`/api/chat/conversations/${id}/rating`, { method: "POST", body: { score, comment: comment.value } });
            this.conversation.rating = saved.score;
            thanks.hidden = false;
            this.showError("");
          } catch (err) {
            this.showError(err.message);
          }
        },
      },
      el("span", {}, "How did we do?"),
      stars,
      comment,
      el("button", { class: "primary", type: "submit" }, "Send rating"),
      thanks,
    );
    const email = el("input", { type: "email", placeholder: "you@example.com", "aria-label": "Email for the transcript" });
    const mailed = el("p", { class: "ok", hidden: true });
    const mail = el(
      "form",
      {
        class: "row transcript",
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            const queued = await api(`/api/chat/conversations/${id}/transcript/email`, { method: "POST", body: email.value ? { email: email.value } : {} });
            mailed.textContent = `The transcript is on its way to ${queued.email}.`;
            mailed.hidden = false;
            this.showError("");
          } catch (err) {
            this.showError(err.message);
          }
        },
      },
      email,
      el("button", { type: "submit" }, "Email transcript"),
    );
    this.ending.replaceChildren(
      ...(c.agent ? [rate] : []), // nobody of the team answered: nothing to rate
      el("p", {}, el("a", { href: `/api/chat/conversations/${id}/transcript`, download: "" }, "Download the transcript")),
      mail,
      mailed,
      el("p", { class: "muted" }, "Write again any time to start a new conversation."),
    );
  }

  // ---- what the shopper is looking at (their agent sees it) --------------------------------------

  reportViewing() {
    const marked = document.querySelector("[data-product-page]");
    const fromPath = window.location.pathname.match(/^\/products\/([A-Za-z0-9_-]{1,64})\/?$/);
    const handle = marked ? marked.dataset.productPage : fromPath && fromPath[1];
    if (handle) realtime.request("chat.viewing", { handle }).catch(() => {});
  }
}

if (!CONSOLE_PATHS.test(window.location.pathname) && !document.querySelector("[data-no-chat]")) {
  const widget = new ChatWidget();
  window.engageChat = widget; // for tests and the browser console
  widget.start();
  document.addEventListener("visibilitychange", () => widget.markRead());
}
