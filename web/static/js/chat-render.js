// Chat messages as DOM: text nodes and http(s) links only. Message text is never parsed as HTML.
import { el } from "/static/js/api.js";

const LINK = /https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]}]/gi;

export function linkified(text) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(LINK)) {
    if (match.index > last) frag.append(document.createTextNode(text.slice(last, match.index)));
    frag.append(el("a", { href: match[0], target: "_blank", rel: "noopener noreferrer nofollow" }, match[0]));
    last = match.index + match[0].length;
  }
  if (last < text.length) frag.append(document.createTextNode(text.slice(last)));
  return frag;
}

export function clock(iso) {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? "" : at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function safeHref(url) {
  return /^https?:\/\//i.test(url) || (url.startsWith("/") && !url.startsWith("//")) ? url : null;
}

function attachmentElement(attachment) {
  if (attachment.content_type.startsWith("image/")) {
    return el(
      "a",
      { class: "attachment", href: attachment.url, target: "_blank", rel: "noopener" },
      el("img", { src: attachment.url, alt: attachment.filename, loading: "lazy" }),
    );
  }
  return el("a", { class: "attachment file", href: attachment.url, target: "_blank", rel: "noopener" }, `📄 ${attachment.filename}`);
}

// `mine`: sent by whoever looks at it (their own colour); `ours`: the viewer's side of the conversation
// (the console's agents and bot), set on the right; `status`: a line under it ("Sending…", "Read");
// `onSuggestion`: the bot's suggested replies become buttons.
export function messageElement(m, { mine = false, ours = mine, status = "", showAuthor = true, onSuggestion = null } = {}) {
  if (m.kind === "event") {
    return el("div", { class: `event-line${m.private ? " private" : ""}`, dataset: { seq: m.seq } }, m.text);
  }
  const classes = ["msg", m.author, ours ? "ours" : "", mine ? "mine" : "", m.kind === "note" ? "note" : ""].filter(Boolean).join(" ");
  const node = el("div", { class: classes, dataset: { seq: m.seq ?? "", clientId: m.client_id } });
  if (showAuthor && !mine && m.kind !== "note" && m.author_name) node.append(el("span", { class: "author" }, m.author_name));
  if (m.kind === "note") node.append(el("span", { class: "author" }, `Note · ${m.author_name}`));
  if (m.text) node.append(el("span", { class: "body" }, linkified(m.text)));
  if (m.attachment) node.append(attachmentElement(m.attachment));
  const meta = (m.meta && m.meta.articles) || [];
  if (meta.length) {
    node.append(
      el(
        "ul",
        { class: "articles" },
        meta.map((a) => {
          const href = safeHref(a.url);
          return el("li", {}, href ? el("a", { href, target: "_blank", rel: "noopener" }, a.title) : a.title);
        }),
      ),
    );
  }
  const suggestions = (m.meta && m.meta.suggestions) || [];
  if (suggestions.length && onSuggestion) {
    node.append(
      el(
        "div",
        { class: "suggestions" },
        suggestions.map((s) => el("button", { type: "button", class: "chip", onclick: () => onSuggestion(s) }, s)),
      ),
    );
  }
  node.append(el("span", { class: "meta" }, [clock(m.created_at), status].filter(Boolean).join(" · ")));
  return node;
}

export function pendingElement(p, { onRetry, onDiscard } = {}) {
  const node = el("div", { class: "msg mine pending", dataset: { clientId: p.client_id } }, el("span", { class: "body" }, linkified(p.text)));
  if (p.failed) {
    node.append(
      el(
        "span",
        { class: "meta error" },
        `Not sent: ${p.failed} `,
        onRetry ? el("button", { type: "button", class: "link", onclick: () => onRetry(p.client_id) }, "Retry") : null,
        " ",
        onDiscard ? el("button", { type: "button", class: "link", onclick: () => onDiscard(p.client_id) }, "Remove") : null,
      ),
    );
  } else {
    node.append(el("span", { class: "meta" }, p.acked ? "Sent" : "Sending…"));
  }
  return node;
}
