// Marketing's announcements, live on every storefront page (channel `announcements`): posted, and taken
// away when they expire or a marketer ends one early.
import { realtime } from "/static/js/realtime.js";

const box = document.getElementById("announcements");
const shown = new Map(); // id -> {element, expiresAt}

function render() {
  const now = realtime.now();
  for (const [id, item] of shown) {
    if (item.expiresAt <= now) {
      item.element.remove();
      shown.delete(id);
    }
  }
  box.hidden = shown.size === 0;
}

function add(a) {
  if (shown.has(a.id)) return;
  const element = document.createElement("p");
  element.className = `announcement ${a.level}`;
  element.dataset.announcement = String(a.id);
  element.textContent = a.text;
  box.prepend(element);
  shown.set(a.id, { element, expiresAt: Date.parse(a.expires_at) });
}

if (box) {
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
