import { api, el } from "/static/js/api.js";

// The product page's reviews: the published ones (newest first, a page at a time) with their average, and
// for a shopper who bought the product a form to write, change or delete theirs (the server decides who
// may: `can_review`).
const root = document.querySelector("[data-reviews]");
const form = document.getElementById("review-form");
const base = root ? `/api/products/${encodeURIComponent(root.dataset.reviews)}/reviews` : "";

const stars = (rating) => "★".repeat(rating) + "☆".repeat(5 - rating);

function item(review) {
  return el("li", { class: "review", "data-review": review.id },
    el("p", {}, el("span", { class: "stars", "aria-label": `${review.rating} out of 5` }, stars(review.rating)), " ",
      el("strong", {}, review.title || "")),
    review.body ? el("p", {}, review.body) : null,
    el("p", { class: "muted" }, `${review.author}${review.verified ? " · verified purchase" : ""} · `,
      el("time", { datetime: review.created_at }, new Date(review.created_at).toLocaleDateString())));
}

function summary(page) {
  const box = root.querySelector("[data-reviews-summary]");
  box.textContent = page.count
    ? `${page.average.toFixed(1)} out of 5 · ${page.count} review${page.count === 1 ? "" : "s"}`
    : "No reviews yet.";
  box.dataset.count = String(page.count);
}

function showForm(page) {
  const mine = page.mine;
  form.hidden = !(page.can_review || mine);
  if (form.hidden) return;
  form.querySelector("[data-review-form-title]").textContent = mine ? "Your review" : "Review this product";
  form.querySelector("[data-review-delete]").hidden = !mine;
  const note = form.querySelector("[data-review-hidden-note]");
  note.hidden = !(mine && mine.status === "hidden");
  note.textContent = mine && mine.status === "hidden" ? `Hidden by our team${mine.moderation_note ? `: ${mine.moderation_note}` : ""}.` : "";
  if (mine) {
    form.elements.rating.value = String(mine.rating);
    form.elements.title.value = mine.title;
    form.elements.body.value = mine.body;
  }
}

async function load(before) {
  const page = await api(before ? `${base}?before=${before}` : base);
  const list = root.querySelector("[data-reviews-list]");
  const items = page.reviews.map(item);
  if (before) list.append(...items);
  else list.replaceChildren(...items);
  const more = root.querySelector("[data-reviews-more]");
  more.hidden = page.next_before === null;
  more.onclick = () => load(page.next_before);
  if (!before) {
    summary(page);
    showForm(page);
  }
}

function say(text, ok) {
  const message = form.querySelector("[data-review-message]");
  message.className = ok ? "ok" : "error";
  message.textContent = text;
}

if (root && form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const rating = Number(form.elements.rating.value);
    if (!rating) return say("Choose a rating from 1 to 5 stars.", false);
    try {
      await api(`${base}/mine`, { method: "PUT", body: { rating, title: form.elements.title.value, body: form.elements.body.value } });
      say("Thank you: your review is posted.", true);
      await load();
    } catch (err) {
      say(err.message, false);
    }
  });
  form.querySelector("[data-review-delete]").addEventListener("click", async () => {
    try {
      await api(`${base}/mine`, { method: "DELETE" });
      form.reset();
      say("Your review is deleted.", true);
      await load();
    } catch (err) {
      say(err.message, false);
    }
  });
  load().catch((err) => {
    root.querySelector("[data-reviews-summary]").textContent = `Reviews could not be loaded: ${err.message}`;
  });
}
