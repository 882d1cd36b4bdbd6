// Search box: as-you-type suggestions, sort changes and result-click tracking.
import { api, el } from "./api.js";

function attachSuggestions(input) {
  const list = el("ul", { class: "suggestions", role: "listbox", hidden: true });
  input.after(list);
  let timer = null;
  let latest = 0;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (q.length < 2) { list.hidden = true; return; }
    timer = setTimeout(async () => {
      const ticket = ++latest;
      const found = await api(`/api/search/suggest?q=${encodeURIComponent(q)}&limit=6`).catch(() => null);
      if (!found || ticket !== latest) return;
      list.replaceChildren(
        ...found.terms.map((t) => el("li", {}, el("a", { href: `/search?q=${encodeURIComponent(t)}` }, t))),
        ...found.products.map((p) => el("li", {}, el("a", { href: p.url }, p.name))),
      );
      list.hidden = !list.children.length;
    }, 120);
  });
  input.addEventListener("blur", () => setTimeout(() => { list.hidden = true; }, 200));
}

document.querySelectorAll("[data-search-input]").forEach(attachSuggestions);

document.querySelectorAll("[data-sort]").forEach((select) =>
  select.addEventListener("change", () => { window.location.href = select.value; }));

const results = document.querySelector(".results[data-search-id]");
if (results && results.dataset.searchId) {
  results.addEventListener("click", (event) => {
    const tile = event.target.closest("[data-handle]");
    if (!tile) return;
    const body = { search_id: Number(results.dataset.searchId), handle: tile.dataset.handle, position: Number(tile.dataset.position) };
    api("/api/search/clicks", { method: "POST", body }).catch(() => {});
  });
}
