// Live leaderboards: the board page, and the small widget on a flash sale's product page.
//
// Markup hooks (the templates only mark up):
//   [data-leaderboard][data-board-id]    a board: rows from `leaderboard:{id}` (snapshot, then every
//     [data-size]                        `leaderboard.standings` frame); movement is shown for a moment
//   [data-leaderboard-me]                inside it: the watcher's own rank and neighbours (signed in)
//   [data-flash-box][data-handle]        product page: a top-3 widget for each board of a sale of this product
//
// The channel carries the top N for everyone; a watcher's own rank outside it is read again over HTTP,
// at most every ME_REFRESH_MS while frames arrive (the top N itself never waits for that).
import { realtime } from "/static/js/realtime.js";
import { api, el } from "/static/js/api.js";

const MOVED_MS = 2500;
const ME_REFRESH_MS = 5000;

function valueText(board, value) {
  if (board.metric === "category_spend") return new Intl.NumberFormat(undefined, { style: "currency", currency: board.currency || "USD" }).format(value / 100);
  if (board.metric === "points_earned") return `${value.toLocaleString()} pts`;
  return value.toLocaleString();
}

class LiveBoard {
  constructor(root, boardId, { size = 10, compact = false } = {}) {
    this.root = root;
    this.boardId = boardId;
    this.size = size;
    this.compact = compact;
    this.board = { metric: root.dataset.metric, currency: root.dataset.currency };
    this.ranks = new Map(); // token -> rank last shown
    this.myToken = null;
    this.me = null;
    this.neighbours = [];
    this.lastMeFetch = 0;
    this.list = root.querySelector("[data-leaderboard-rows]") || root.appendChild(el("ol", { class: "leaderboard-rows" }));
    this.meBox = root.querySelector("[data-leaderboard-me]");
    this.status = root.querySelector("[data-leaderboard-status]");
    realtime.subscribe(`leaderboard:${boardId}`, (msg) => this.onFrame(msg));
  }

  onFrame(msg) {
    if (msg.type === "snapshot") {
      const snap = msg.snapshot;
      if (!snap) return;
      this.board = { ...this.board, ...snap.board };
      this.myToken = snap.my_token;
      this.me = snap.me;
      this.neighbours = snap.neighbours || [];
      this.render(snap.top, snap.size);
      return;
    }
    if (msg.event !== "leaderboard.standings") return;
    const data = msg.data || {};
    this.render(data.top || [], data.size);
    this.refreshMe(data.top || []);
  }

  async refreshMe(top) {
    if (!this.myToken || !this.meBox) return;
    const inTop = top.find((e) => e.token === this.myToken);
    if (inTop) {
      this.me = inTop;
      this.renderMe();
      return;
    }
    const now = Date.now();
    if (now - this.lastMeFetch < ME_REFRESH_MS) return;
    this.lastMeFetch = now;
    try {
      const mine = await api(`/api/leaderboards/${this.boardId}`);
      this.me = mine.me;
      this.neighbours = mine.neighbours || [];
      this.renderMe();
    } catch {
      /* the next frame tries again */
    }
  }

  render(top, size) {
    const rows = top.slice(0, this.size).map((entry) => {
      const before = this.ranks.get(entry.token);
      let move = "";
      if (before === undefined && this.ranks.size) move = "new";
      else if (before !== undefined && before > entry.rank) move = "up";
      else if (before !== undefined && before < entry.rank) move = "down";
      const li = el(
        "li",
        { class: `leaderboard-row ${move ? "moved-" + move : ""} ${entry.token === this.myToken ? "mine" : ""}`, dataset: { token: entry.token, rank: String(entry.rank) } },
        el("span", { class: "rank" }, `#${entry.rank}`),
        el("span", { class: "name" }, entry.token === this.myToken ? `${entry.name} (you)` : entry.name),
        el("span", { class: "value" }, valueText(this.board, entry.value)),
        move === "up" ? el("span", { class: "move", "aria-label": "moved up" }, "▲") : null,
        move === "down" ? el("span", { class: "move", "aria-label": "moved down" }, "▼") : null,
      );
      if (move) setTimeout(() => li.classList.remove(`moved-${move}`), MOVED_MS);
      return li;
    });
    this.ranks = new Map(top.map((e) => [e.token, e.rank]));
    this.list.replaceChildren(...rows);
    if (!rows.length) this.list.append(el("li", { class: "muted" }, "Nobody yet: be the first."));
    if (this.status && size !== undefined) this.status.textContent = `${size.toLocaleString()} ranked`;
    const mine = top.find((e) => e.token === this.myToken);
    if (mine) this.me = mine;
    this.renderMe();
  }

  renderMe() {
    if (!this.meBox) return;
    if (!this.myToken) {
      this.meBox.replaceChildren(el("p", { class: "muted" }, el("a", { href: `/login?next=${location.pathname}` }, "Sign in"), " to see your rank."));
      return;
    }
    if (!this.me) {
      this.meBox.replaceChildren(el("p", { class: "muted" }, "You are not on this board yet."));
      return;
    }
    const near = this.compact
      ? []
      : this.neighbours.map((n) =>
          el("li", { class: n.token === this.myToken ? "mine" : "" }, `#${n.rank} ${n.name} · ${valueText(this.board, n.value)}`),
        );
    this.meBox.replaceChildren(
      el("p", { class: "my-rank", dataset: { myRank: String(this.me.rank) } }, `Your rank: #${this.me.rank} · ${valueText(this.board, this.me.value)}`),
      near.length ? el("ol", { class: "neighbours" }, ...near) : null,
    );
  }
}

for (const root of document.querySelectorAll("[data-leaderboard][data-board-id]")) {
  new LiveBoard(root, Number(root.dataset.boardId), { size: Number(root.dataset.size || 10) });
}

// the flash sale widget on a product page: each board of a current sale that includes this product
const box = document.querySelector("[data-flash-box][data-handle]");
if (box) {
  (async () => {
    try {
      const sales = await api("/api/flash-sales");
      const mine = sales.filter((s) => (s.items || []).some((i) => i.handle === box.dataset.handle));
      for (const sale of mine) {
        for (const board of await api(`/api/leaderboards?flash_sale_id=${sale.id}`)) {
          const widget = el(
            "aside",
            { class: "leaderboard-widget card", dataset: { leaderboardWidget: "", boardId: String(board.id) } },
            el("h3", {}, el("a", { href: `/leaderboards/${board.id}` }, board.name)),
            el("ol", { class: "leaderboard-rows", dataset: { leaderboardRows: "" } }),
            el("div", { dataset: { leaderboardMe: "" } }),
          );
          box.after(widget);
          new LiveBoard(widget, board.id, { size: 3, compact: true });
        }
      }
    } catch {
      /* no widget: the page works without it */
    }
  })();
}
