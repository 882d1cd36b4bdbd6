// JSON over fetch with the session cookie and the CSRF header; errors carry the problem details.

function cookie(name) {
  const hit = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return hit ? decodeURIComponent(hit.slice(name.length + 1)) : "";
}

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

// Every change carries an Idempotency-Key, so that when its answer is lost on the network the one retry
// below cannot do it twice (the server replays the first answer). Sign-in and sign-up are not retried.
export async function api(path, { method = "GET", body, headers = {}, raw = false } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
  const unsafe = method !== "GET" && method !== "HEAD";
  if (unsafe) {
    init.headers["x-csrftoken"] = cookie("engage_csrf");
    init.headers["Idempotency-Key"] = init.headers["Idempotency-Key"] || newKey();
  }
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (lost) {
    if (!unsafe || path.startsWith("/api/auth/")) throw lost;
    res = await fetch(path, init);
  }
  if (await needsConfirming(res, path)) return api(path, { method, body, headers, raw });
  if (raw) return res;
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// A sensitive staff action answered 403 `reauth_required`: ask for the password (and code) in a dialog,
// confirm it, and say so (the caller asks again, with a new idempotency key). Cancelling throws.
async function needsConfirming(res, path) {
  if (res.status !== 403 || path.startsWith("/api/auth/")) return false;
  const problem = await res.clone().json().catch(() => null);
  if (!problem || problem.code !== "reauth_required") return false;
  await confirmItsYou();
  return true;
}

let confirming = null; // one dialog for every call waiting on it

export function confirmItsYou() {
  confirming = confirming || askOnce().finally(() => { confirming = null; });
  return confirming;
}

function askOnce() {
  return new Promise((resolve, reject) => {
    const message = el("p", { class: "error", role: "alert", hidden: true });
    const form = el("form", { method: "dialog", class: "stack" },
      el("h2", {}, "Confirm it's you"),
      el("p", { class: "muted" }, "This action needs your password again (and your code, with two-factor sign-in on)."),
      el("label", {}, "Password", el("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
      el("label", {}, "Code from your app (if asked)", el("input", { name: "otp", inputmode: "numeric", autocomplete: "one-time-code" })),
      message,
      el("div", { class: "row" },
        el("button", { type: "button", value: "cancel", onclick: () => dialog.close("cancel") }, "Cancel"),
        el("button", { type: "submit", class: "primary" }, "Confirm")));
    const dialog = el("dialog", { class: "reauth-dialog", "aria-label": "Confirm it's you" }, form);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const otp = form.elements.otp.value.trim();
      try {
        await api("/api/auth/reauthenticate", { method: "POST", body: { password: form.elements.password.value, ...(otp ? { otp } : {}) } });
        dialog.close("done");
      } catch (err) {
        message.textContent = err.problem?.code === "two_factor_required" ? "Enter the code from your authenticator app." : err.message;
        message.hidden = false;
        (err.problem?.code === "two_factor_required" ? form.elements.otp : form.elements.password).focus();
      }
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (dialog.returnValue === "done") resolve();
      else reject(new ApiError(403, { detail: "Not confirmed: nothing was done.", code: "reauth_required" }));
    });
    document.body.append(dialog);
    dialog.showModal();
    form.elements.password.focus();
  });
}

// A file from the API (an export): through the same confirmation, then saved under the server's name.
export async function download(path) {
  const res = await api(path, { raw: true });
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
  const name = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") || "")?.[1] || "export";
  const link = el("a", { href: URL.createObjectURL(await res.blob()), download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

export function money(cents, currency = "USD") {
  return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(cents / 100);
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
