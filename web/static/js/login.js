import { api } from "/static/js/api.js";

function bind(formId, errorId, path) {
  const form = document.getElementById(formId);
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById(errorId);
    error.hidden = true;
    const body = Object.fromEntries(new FormData(form).entries());
    try {
      await api(path, { method: "POST", body });
      window.location.assign(form.dataset.next || "/");
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  });
}

bind("login-form", "login-error", "/api/auth/login");
bind("signup-form", "signup-error", "/api/auth/signup");
