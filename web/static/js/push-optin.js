import { api } from "/static/js/api.js";

// Web Push opt-in, only ever after the shopper asked for something ("remind me", "tell me when it ships",
// the preference centre's switch): never a permission prompt on page load.
//   <button data-push-optin="flash_sales" data-push-then="remind:12">Remind me</button>

export function pushSupported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

function urlBase64ToUint8Array(base64) {
  const padded = (base64 + "=".repeat((4 - (base64.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

// Subscribes this browser (asking for permission first) and saves it with the topics it was for.
export async function enablePush(topics = []) {
  if (!pushSupported()) throw new Error("This browser cannot show notifications.");
  const permission = await Notification.requestPermission();
  if (permission !== "granted") throw new Error("Notifications are blocked for this site in your browser settings.");
  const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  await navigator.serviceWorker.ready;
  let subscription = await registration.pushManager.getSubscription();
  if (!subscription) {
    const { public_key } = await api("/api/push/public-key");
    subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: urlBase64ToUint8Array(public_key),
    });
  }
  const timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return api("/api/push/subscriptions", { method: "POST", body: { ...subscription.toJSON(), timezone, topics } });
}

async function then(step) {
  const [what, id] = (step || "").split(":");
  if (what === "remind" && id) await api(`/api/flash-sales/${id}/reminders`, { method: "POST" });
}

function status(button, text, kind) {
  let note = button.nextElementSibling;
  if (!note || !note.matches("[data-push-status]")) {
    note = document.createElement("span");
    note.setAttribute("data-push-status", "");
    note.setAttribute("role", "status");
    button.after(note);
  }
  note.className = kind;
  note.textContent = text;
}

export function bindOptIns(root = document) {
  for (const button of root.querySelectorAll("[data-push-optin]:not([data-push-bound])")) {
    button.dataset.pushBound = "";
    if (!pushSupported()) {
      button.hidden = true;
      continue;
    }
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await enablePush(button.dataset.pushOptin.split(",").filter(Boolean));
        await then(button.dataset.pushThen);
        status(button, button.dataset.pushDone || "Done: we will let you know.", "ok");
      } catch (err) {
        button.disabled = false;
        status(button, err.message, "error");
      }
    });
  }
}

bindOptIns();
new MutationObserver(() => bindOptIns()).observe(document.body, { childList: true, subtree: true });
