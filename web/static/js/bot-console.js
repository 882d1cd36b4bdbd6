// Console: try the support bot (POST /api/bot/preview) and read how it does in chat (GET /api/bot/report).
import { api, el } from "./api.js";

function percent(rate) {
  return rate === null || rate === undefined ? "–" : `${Math.round(rate * 1000) / 10}%`;
}

function showDecision(box, d) {
  const label = d.kind === "intent" ? `intent: ${d.intent}` : d.kind === "article" ? `article: ${d.article_id}` : "fallback";
  box.replaceChildren(
    el("p", {}, el("span", { class: "badge" }, label), " ", el("span", { class: "muted" }, `confidence ${d.confidence.toFixed(3)}`)),
    el("p", { class: "bot-answer" }, d.answer),
    d.passages.length ? el("h3", {}, "Passages") : "",
    el("ol", {}, ...d.passages.map((p) =>
      el("li", {}, el("a", { href: p.url }, p.title), ` · ${p.score.toFixed(3)}`, el("p", { class: "muted" }, p.text)))),
  );
}

function showReport(box, r) {
  box.replaceChildren(
    el("div", { class: "row" },
      el("div", {}, el("div", { class: "kpi", "data-containment": "" }, percent(r.containment_rate)), el("div", { class: "muted" }, "contained (ended with no person)")),
      el("div", {}, el("div", { class: "kpi" }, String(r.conversations)), el("div", { class: "muted" }, "conversations with the bot")),
      el("div", {}, el("div", { class: "kpi" }, String(r.handed_to_people)), el("div", { class: "muted" }, "handed to people"))),
    el("h3", {}, "Why it handed over"),
    r.handoff_reasons.length
      ? el("ul", {}, ...r.handoff_reasons.map((h) => el("li", {}, `${h.reason} (${h.count})`)))
      : el("p", { class: "muted" }, "No handoffs yet."),
    el("h3", {}, "Articles it answered with"),
    r.articles.length
      ? el("ul", {}, ...r.articles.map((a) =>
          el("li", {}, el("a", { href: `/help/${a.article_id}` }, a.article_id), ` · ${a.answers} answers, then a person asked for ${a.then_asked_for_human}×`)))
      : el("p", { class: "muted" }, "No answers yet."),
  );
}

const form = document.querySelector("[data-bot-preview]");
const decision = document.querySelector("[data-bot-decision]");
form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = new FormData(form).get("text").trim();
  if (!text) return;
  decision.replaceChildren(el("p", { class: "muted" }, "Thinking…"));
  try {
    showDecision(decision, await api("/api/bot/preview", { method: "POST", body: { text } }));
  } catch (err) {
    decision.replaceChildren(el("p", { class: "error" }, err.message));
  }
});

const report = document.querySelector("[data-bot-report]");
if (report) {
  api("/api/bot/report?days=30")
    .then((r) => showReport(report, r))
    .catch((err) => report.replaceChildren(el("p", { class: "error" }, err.message)));
}
