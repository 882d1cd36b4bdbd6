// Console → Search: analytics (GET /api/search/analytics/*) and the merchant's synonyms
// (GET/POST/DELETE /api/search/synonyms), with "add as synonym" on each query that found nothing.
import { api, el } from "./api.js";

const split = (text) => text.split(",").map((t) => t.trim()).filter(Boolean);
const percent = (rate) => `${Math.round(rate * 1000) / 10}%`;

const summaryBox = document.querySelector("[data-search-summary]");
const zeroBox = document.querySelector("[data-zero-results]");
const synonymsBox = document.querySelector("[data-synonyms]");
const form = document.querySelector("[data-synonym-form]");
const formError = document.querySelector("[data-synonym-error]");

async function addSynonym(terms, mapsTo) {
  await api("/api/search/synonyms", { method: "POST", body: { terms, maps_to: mapsTo } });
  await Promise.all([loadSynonyms(), loadZeroResults()]);
}

function showSummary(s) {
  summaryBox.replaceChildren(
    el("div", { class: "row" },
      el("div", {}, el("div", { class: "kpi" }, String(s.searches)), el("div", { class: "muted" }, "searches")),
      el("div", {}, el("div", { class: "kpi" }, percent(s.zero_result_rate)), el("div", { class: "muted" }, "found nothing")),
      el("div", {}, el("div", { class: "kpi" }, percent(s.click_through_rate)), el("div", { class: "muted" }, "clicked a result")),
      el("div", {}, el("div", { class: "kpi" }, percent(s.conversion_rate)), el("div", { class: "muted" }, "bought"))),
  );
}

function zeroRow(q) {
  const input = el("input", { "aria-label": `What the shop calls “${q.query}”`, placeholder: "what the shop calls it", maxlength: "400" });
  const error = el("span", { class: "error" });
  const button = el("button", {
    type: "button",
    "data-add-synonym": q.query,
    onclick: async () => {
      const mapsTo = split(input.value);
      if (!mapsTo.length) { input.focus(); return; }
      try { await addSynonym([q.query], mapsTo); } catch (err) { error.textContent = err.message; }
    },
  }, "Add as synonym");
  return el("li", { class: "row" }, el("strong", {}, q.query), el("span", { class: "muted" }, ` ${q.searches}×`), input, button, error);
}

async function loadZeroResults() {
  const rows = await api("/api/search/analytics/zero-results?days=30");
  zeroBox.replaceChildren(rows.length ? el("ul", { class: "stack" }, ...rows.map(zeroRow)) : el("p", { class: "muted" }, "Every search found something."));
}

async function loadSynonyms() {
  const rows = await api("/api/search/synonyms");
  synonymsBox.replaceChildren(rows.length
    ? el("ul", {}, ...rows.map((s) => el("li", { class: "row" },
        el("span", {}, s.maps_to.length ? `${s.terms.join(", ")} → ${s.maps_to.join(", ")}` : s.terms.join(" = ")),
        el("button", { type: "button", onclick: async () => {
          await api(`/api/search/synonyms/${s.id}`, { method: "DELETE" });
          await loadSynonyms();
        } }, "Remove"))))
    : el("p", { class: "muted" }, "None yet: the shipped vocabulary applies."));
}

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  formError.textContent = "";
  try {
    await addSynonym(split(data.get("terms")), split(data.get("maps_to") || ""));
    form.reset();
  } catch (err) {
    formError.textContent = err.message;
  }
});

if (summaryBox) {
  api("/api/search/analytics/summary?days=30").then(showSummary).catch((err) => summaryBox.replaceChildren(el("p", { class: "error" }, err.message)));
  loadZeroResults().catch((err) => zeroBox.replaceChildren(el("p", { class: "error" }, err.message)));
  loadSynonyms().catch((err) => synonymsBox.replaceChildren(el("p", { class: "error" }, err.message)));
}
