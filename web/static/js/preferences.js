import { api, el } from "/static/js/api.js";

// The notification preference centre: topic x channel switches, quiet hours in the shopper's own time
// zone, "unsubscribe from all marketing", and the devices that get pushes. With ?token= (the link in a
// push) it works without signing in, and devices are not shown.
const root = document.getElementById("preferences");
const token = root.dataset.token;
const query = token ? `?token=${encodeURIComponent(token)}` : "";
const LABELS = {
  order_updates: "Order updates (shipped, delivered, refunded)",
  chat_replies: "Replies from our support team",
  flash_sales: "Flash sales you asked to be reminded of",
  back_in_stock: "Products back in stock you asked about",
  offers: "Offers and news",
};
const $ = (id) => document.getElementById(id);

function fail(err) {
  $("pref-error").textContent = err.message;
  $("pref-error").hidden = false;
}

function show(prefs) {
  $("pref-topics").replaceChildren(
    ...Object.entries(prefs.topics).map(([topic, channels]) =>
      el(
        "tr",
        {},
        el("th", { scope: "row" }, LABELS[topic] || topic),
        ...["push", "email"].map((channel) =>
          el(
            "td",
            {},
            el("input", {
              type: "checkbox",
              "aria-label": `${LABELS[topic] || topic}: ${channel}`,
              dataset: { topic, channel },
              checked: Boolean(channels[channel]),
            }),
          ),
        ),
      ),
    ),
  );
  $("pref-quiet-on").checked = Boolean(prefs.quiet_hours);
  if (prefs.quiet_hours) {
    $("pref-quiet-start").value = prefs.quiet_hours.start;
    $("pref-quiet-end").value = prefs.quiet_hours.end;
  }
  $("pref-timezone").value = prefs.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone;
  $("pref-unsubscribe").checked = prefs.marketing_unsubscribed;
  $("pref-form").hidden = false;
}

async function showDevices() {
  if (token) return;
  const devices = await api("/api/push/subscriptions");
  $("pref-device-list").replaceChildren(
    ...devices.map((d) =>
      el(
        "li",
        {},
        `${d.user_agent || "A browser"} (added ${new Date(d.created_at).toLocaleDateString()}) `,
        el(
          "button",
          {
            type: "button",
            onclick: async () => {
              await api(`/api/push/subscriptions/${d.id}`, { method: "DELETE" }).catch(fail);
              await showDevices();
            },
          },
          "Remove",
        ),
      ),
    ),
  );
  $("pref-devices").hidden = false;
}

$("pref-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("pref-saved").hidden = true;
  $("pref-error").hidden = true;
  const topics = {};
  for (const box of $("pref-topics").querySelectorAll("input[type=checkbox]")) {
    topics[box.dataset.topic] = { ...(topics[box.dataset.topic] || {}), [box.dataset.channel]: box.checked };
  }
  const body = {
    topics,
    timezone: $("pref-timezone").value.trim() || null,
    quiet_hours: $("pref-quiet-on").checked
      ? { start: $("pref-quiet-start").value, end: $("pref-quiet-end").value }
      : null,
    marketing_unsubscribed: $("pref-unsubscribe").checked,
  };
  try {
    show(await api(`/api/notifications/preferences${query}`, { method: "PUT", body }));
    $("pref-saved").hidden = false;
  } catch (err) {
    fail(err);
  }
});

if (Intl.supportedValuesOf) {
  $("pref-zones").replaceChildren(...Intl.supportedValuesOf("timeZone").map((z) => el("option", { value: z })));
}
api(`/api/notifications/preferences${query}`)
  .then(show)
  .then(showDevices)
  .catch(fail);
