import { api } from "/static/js/api.js";

// The account page: name, password, sign out everywhere.
const message = document.getElementById("account-message");
const say = (text, kind) => {
  message.className = kind;
  message.textContent = text;
};

document.getElementById("profile-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api("/api/auth/me", { method: "PATCH", body: { name: event.target.elements.name.value } });
    say("Saved.", "ok");
  } catch (err) {
    say(err.message, "error");
  }
});

document.getElementById("password-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  try {
    await api("/api/auth/password", {
      method: "POST",
      body: { current_password: form.elements.current_password.value, new_password: form.elements.new_password.value },
    });
    form.reset();
    say("Password changed. Other browsers and apps are signed out.", "ok");
  } catch (err) {
    say(err.message, "error");
  }
});

document.getElementById("logout-everywhere").addEventListener("click", async () => {
  try {
    await api("/api/auth/logout-everywhere", { method: "POST" });
    window.location.assign("/login");
  } catch (err) {
    say(err.message, "error");
  }
});
