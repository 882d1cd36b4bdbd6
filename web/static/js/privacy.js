import { api } from "/static/js/api.js";

// "Delete my account": asks once more, then the account is signed out and gone.
const form = document.getElementById("erase-form");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("erase-error");
  error.hidden = true;
  if (!window.confirm("Delete your account and erase your data? This cannot be undone.")) return;
  const body = Object.fromEntries([...new FormData(form).entries()].filter(([, value]) => value !== ""));
  try {
    await api("/api/account/privacy/erasure", { method: "POST", body });
    const done = document.createElement("p");
    done.setAttribute("role", "status");
    done.textContent = "Your account is closed; its data will be erased within ten minutes.";
    form.replaceWith(done);
  } catch (err) {
    error.textContent = err.message;
    error.hidden = false;
  }
});
