// Engage's service worker (served at /sw.js, scope "/"): shows the notifications Engage pushes, opens their
// link on a click (recording the click), and keeps the subscription alive when the browser renews it.
// The payload is described in docs/push.md.

function urlBase64ToUint8Array(base64) {
  const padded = (base64 + "=".repeat((4 - (base64.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function payloadOf(event) {
  if (!event.data) return {};
  try {
    return event.data.json();
  } catch {
    return { title: "Engage", body: event.data.text() };
  }
}

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  const data = payloadOf(event);
  const options = {
    body: data.body || "",
    tag: data.tag || undefined,
    renotify: Boolean(data.tag && data.renotify),
    requireInteraction: Boolean(data.require_interaction),
    timestamp: data.ts || Date.now(),
    data,
    actions: (data.actions || []).map((a) => ({ action: a.action, title: a.title })),
  };
  if (data.icon) options.icon = data.icon;
  if (data.image) options.image = data.image;
  event.waitUntil(self.registration.showNotification(data.title || "Engage", options));
});

function sameOrigin(url) {
  try {
    const target = new URL(url, self.location.origin);
    return target.origin === self.location.origin ? target.href : self.location.origin + "/";
  } catch {
    return self.location.origin + "/";
  }
}

self.addEventListener("notificationclick", (event) => {
  const data = event.notification.data || {};
  event.notification.close();
  const action = (data.actions || []).find((a) => a.action === event.action);
  const url = sameOrigin((action && action.url) || data.url || "/");
  const recorded = data.click
    ? fetch(data.click.url, {
        method: "POST",
        credentials: "omit",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ message_id: data.message_id, token: data.click.token, action: event.action || null }),
      }).catch(() => undefined)
    : Promise.resolve();
  const opened = self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
    const open = windows.find((w) => w.url === url);
    return open ? open.focus() : self.clients.openWindow(url);
  });
  event.waitUntil(Promise.all([recorded, opened]));
});

self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil(
    (async () => {
      const old = event.oldSubscription;
      let fresh = event.newSubscription;
      if (!fresh) {
        const { public_key } = await (await fetch("/api/push/public-key")).json();
        fresh = await self.registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: urlBase64ToUint8Array(public_key),
        });
      }
      if (!old) return;
      await fetch("/api/push/subscriptions/renew", {
        method: "POST",
        credentials: "omit",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ old_endpoint: old.endpoint, subscription: fresh.toJSON() }),
      });
    })(),
  );
});
