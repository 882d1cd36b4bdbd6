import { api } from "/static/js/api.js";

// Where to go after signing in: a path on this site only (the server's rule, engage/http/pages.py
// safe_next): not another origin ("//evil", "https:"), nor what browsers turn into one ("/\\evil",
// "/<tab>/evil"), nor the same percent-encoded.
export function safeNext(target) {
  if (typeof target !== "string" || !target || target.length > 2048) return "/";
  let decoded;
  try {
    decoded = decodeURIComponent(target);
  } catch {
    return "/";
  }
  for (const form of [target, decoded]) {
    if (!form.startsWith("/") || form.startsWith("//") || /[\x00-\x20\x7f-\x9f\\\s]/.test(form)) return "/";
  }
  const url = new URL(target, window.location.origin);
  return url.origin === window.location.origin ? url.pathname + url.search + url.hash : "/";
}

function bind(formId, errorId, path, done) {
  const form = document.getElementById(formId);
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById(errorId);
    error.hidden = true;
    const body = Object.fromEntries([...new FormData(form).entries()].filter(([, value]) => value !== ""));
    try {
      done(form, await api(path, { method: "POST", body }));
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
      const otp = document.getElementById("otp-row");
      if (otp && err.problem.code === "two_factor_required") {
        otp.hidden = false;
        otp.querySelector("input").focus();
      }
    }
  });
}

const goOn = (form) => window.location.assign(safeNext(form.dataset.next));

// Sign-up answers the same for a new and a taken address: the next step is in the mail.
function checkYourEmail(form, answer) {
  const note = document.createElement("p");
  note.setAttribute("role", "status");
  note.textContent = `Check your email (${answer.email}): the link in it finishes your sign-up.`;
  form.replaceWith(note);
}

bind("login-form", "login-error", "/api/auth/login", goOn);
bind("signup-form", "signup-error", "/api/auth/signup", checkYourEmail);
bind("confirm-form", "confirm-error", "/api/auth/signup/confirm", goOn);
