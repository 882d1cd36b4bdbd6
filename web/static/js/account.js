import { ADDRESS_FIELDS, addressText, savedAddresses } from "/static/js/address-book.js";
import { api, el } from "/static/js/api.js";

// The account page: name, addresses, password, sign out everywhere.
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

// ---- the address book ----------------------------------------------------------------------------------

const book = document.getElementById("address-book");

async function changeBook(path, options, done) {
  try {
    await api(path, options);
    say(done, "ok");
  } catch (err) {
    say(err.message, "error");
  }
  await showBook();
}

function entryItem(entry) {
  const path = `/api/account/addresses/${entry.id}`;
  return el(
    "li",
    { class: "card stack", dataset: { address: String(entry.id) } },
    el("span", {}, el("strong", {}, entry.label || "Address"), " ", entry.is_default ? el("span", { class: "badge" }, "default") : ""),
    el("span", {}, addressText(entry.address)),
    el(
      "span",
      { class: "row" },
      entry.is_default
        ? ""
        : el("button", { type: "button", onclick: () => changeBook(path, { method: "PATCH", body: { is_default: true } }, "Default address changed.") }, "Make default"),
      el("button", { type: "button", class: "danger", onclick: () => changeBook(path, { method: "DELETE" }, "Address removed.") }, "Remove"),
    ),
  );
}

async function showBook() {
  try {
    const entries = await savedAddresses();
    book.replaceChildren(...(entries.length ? entries.map(entryItem) : [el("li", { class: "muted" }, "No saved addresses yet.")]));
  } catch (err) {
    say(err.message, "error");
  }
}

document.getElementById("address-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const address = {};
  for (const name of ADDRESS_FIELDS) address[name] = form.elements[name].value.trim();
  address.country = address.country.toUpperCase();
  const body = { address, label: form.elements.label.value.trim(), is_default: form.elements.is_default.checked };
  await changeBook("/api/account/addresses", { method: "POST", body }, "Address saved.");
  if (message.className === "ok") {
    form.reset();
    document.getElementById("address-add").open = false;
  }
});

showBook();
