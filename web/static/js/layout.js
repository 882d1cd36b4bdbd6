// Small-screen helpers for every page (loaded by base.html).
//
// Panels that fold away on phones (the shop's filters, search facets): a [data-collapsible] element holds a
// [data-collapse-toggle] button and a .collapsible-body. On wide screens the CSS shows the body and hides the
// button; on phones the body shows only while the panel is open. Without scripts, /static/css/noscript.css
// keeps every body shown.
//
// Tables marked `stackable` become one card per row on phones; each cell is labelled with its column's
// heading (data-label, read by the CSS), also for rows that scripts add later.
for (const toggle of document.querySelectorAll("[data-collapse-toggle]")) {
  const panel = toggle.closest("[data-collapsible]");
  toggle.addEventListener("click", () => {
    const open = !panel.classList.contains("open");
    panel.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", String(open));
  });
}

function label(table) {
  const headings = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  for (const row of table.querySelectorAll("tbody tr")) {
    [...row.children].forEach((cell, n) => {
      const text = headings[n] ?? "";
      if (cell.dataset.label !== text) cell.dataset.label = text;
    });
  }
}

for (const table of document.querySelectorAll("table.stackable")) {
  label(table);
  new MutationObserver(() => label(table)).observe(table, { childList: true, subtree: true });
}
