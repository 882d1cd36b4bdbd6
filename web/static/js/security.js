import { api } from "/static/js/api.js";

// Two-factor sign-in of the signed-in account: state, enrolment (QR code, confirm, recovery codes),
// a code for this session, turning it off (where the role allows).
const $ = (id) => document.getElementById(id);

function fail(err) {
  $("tf-error").textContent = err.message;
  $("tf-error").hidden = false;
}

function codeOf(form) {
  return new FormData(form).get("code").toString().trim();
}

async function refresh() {
  const state = await api("/api/auth/two-factor");
  $("tf-state").textContent = state.on
    ? `On. ${state.recovery_codes_left} recovery codes left.` +
      (state.this_session ? " This session gave a code." : "")
    : state.required
      ? "Your role needs two-factor sign-in before its pages and actions work."
      : "Off. Turn it on to protect your account with a code from your phone.";
  $("tf-enrol").hidden = state.on;
  $("tf-verify").hidden = !state.on || state.this_session;
  $("tf-off").hidden = !state.on || state.required;
}

$("tf-start").addEventListener("click", async () => {
  $("tf-error").hidden = true;
  try {
    const enrolment = await api("/api/auth/two-factor/enrol", { method: "POST" });
    $("tf-qr-image").src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(enrolment.qr_svg);
    $("tf-secret").textContent = enrolment.secret;
    $("tf-qr").hidden = false;
    $("tf-confirm-form").hidden = false;
    $("tf-start").hidden = true;
    $("tf-confirm-form").querySelector("input").focus();
  } catch (err) {
    fail(err);
  }
});

$("tf-confirm-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("tf-error").hidden = true;
  try {
    const answer = await api("/api/auth/two-factor/confirm", { method: "POST", body: { code: codeOf(event.target) } });
    const list = $("tf-code-list");
    list.replaceChildren(...answer.recovery_codes.map((code) => Object.assign(document.createElement("li"), { textContent: code })));
    $("tf-codes").hidden = false;
    await refresh();
  } catch (err) {
    fail(err);
  }
});

$("tf-verify-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("tf-error").hidden = true;
  try {
    await api("/api/auth/two-factor/verify", { method: "POST", body: { code: codeOf(event.target) } });
    await refresh();
  } catch (err) {
    fail(err);
  }
});

$("tf-off-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("tf-error").hidden = true;
  try {
    await api("/api/auth/two-factor/off", { method: "POST", body: { code: codeOf(event.target) } });
    await refresh();
  } catch (err) {
    fail(err);
  }
});

refresh().catch(fail);
