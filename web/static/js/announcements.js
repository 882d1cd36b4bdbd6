// Marketing's announcements, live on every storefront page (channel `announcements`): posted, and taken
// away when they expire or a marketer ends one early. The ones running when the last page was left are shown
// at once on the next (kept for the tab), so the banner is there before the socket's snapshot arrives instead
// of pushing the page down under the shopper's pointer; the snapshot then says what still runs.
import { realtime } from "/static/js/realtime.js";

const box = document.getElementById("announcements");
const shown = new Map(); // id -> {element, expiresAt, announcement}
const KEPT = "engage.announcements";

function keep() {
  try {
    const running = [...shown.values()].map((item) => item.announcement);
    sessionStorage.setItem(KEPT, JSON.stringify(running));
  } catch {
    // storage refused (private mode, quota): the next page waits for the snapshot
  }
}

function kept() {
  try {
    const running = JSON.parse(sessionStorage.getItem(KEPT) || "[]");
    return Array.isArray(running) ? running : [];
  } catch {
    return [];
  }
}

function render() {
  const now = realtime.now();
  for (const [id, item] of shown) {
    if (item.expiresAt <= now) {
      item.element.remove();
      shown.delete(id);
    }
  }
  box.hidden = shown.size === 0;
  keep();
}

function add(a) {
  if (shown.has(a.id)) return;
  const element = document.createElement("p");
  element.className = `announcement ${a.level}`;
  element.dataset.announcement = String(a.id);
  element.textContent = String(a.text);
  box.prepend(element);
  shown.set(a.id, { element, expiresAt: Date.parse(a.expires_at), announcement: a });
}

if (box) {
  for (const a of kept()) {
    if (a && a.id !== undefined && a.text && Date.parse(a.expires_at) > Date.now()) add(a);
  }
  box.hidden = shown.size === 0;
  realtime.subscribe("announcements", (msg) => {
    if (msg.type === "snapshot") {
      for (const { element } of shown.values()) element.remove();
      shown.clear();
      for (const a of [...((msg.snapshot && msg.snapshot.announcements) || [])].reverse()) add(a);
    } else if (msg.event === "announcement.posted") {
      add(msg.data);
    } else if (msg.event === "announcement.ended") {
      const item = shown.get(msg.data.id);
      if (item) item.expiresAt = 0; // render() takes it away
    }
    render();
  });
  setInterval(render, 15000);
}
