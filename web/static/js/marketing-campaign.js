import { api, el } from "/static/js/api.js";
import { localTime } from "/static/js/marketing-common.js";
import { realtime } from "/static/js/realtime.js";

// One push campaign, live while it sends: figures per version (a chart that moves), state, history; pause,
// resume and a hard cancel. `campaign:{id}` on the hub brings `push.campaign_progress` frames.
const root = document.getElementById("campaign-live");
const id = Number(root.dataset.campaignId);
const $ = (x) => document.getElementById(x);
let chart = null;

function fail(err) {
  $("campaign-error").textContent = err.message;
  $("campaign-error").hidden = false;
}

function rate(f) {
  return f.accepted ? `${((100 * f.clicked) / f.accepted).toFixed(1)}%` : "—";
}

function showFigures(variants, total) {
  const rows = [...variants, { ...total, key: "All" }].map((f) =>
    el(
      "tr",
      { dataset: { version: f.key } },
      el("th", { scope: "row" }, f.key),
      ...[f.sent, f.accepted, f.failed, f.expired, f.clicked, f.converted].map((n) => el("td", {}, String(n ?? 0))),
      el("td", {}, rate(f)),
    ),
  );
  $("figures").querySelector("tbody").replaceChildren(...rows);
  const labels = variants.map((v) => v.key);
  const sets = [
    ["Accepted", variants.map((v) => v.accepted)],
    ["Clicked", variants.map((v) => v.clicked)],
    ["Failed", variants.map((v) => v.failed)],
  ];
  if (!window.Chart) return;
  if (!chart) {
    chart = new window.Chart($("figures-chart"), {
      type: "bar",
      data: { labels, datasets: sets.map(([label, data]) => ({ label, data })) },
      options: { animation: false, responsive: true, maintainAspectRatio: false },
    });
  } else {
    chart.data.labels = labels;
    sets.forEach(([, data], i) => (chart.data.datasets[i].data = data));
    chart.update();
  }
}

function showCampaign(c) {
  $("campaign-name").textContent = c.name || (c.content && c.content.title) || `Campaign ${c.id}`;
  $("campaign-status").textContent = c.status;
  $("history").replaceChildren(
    ...c.history.map((h) => el("li", {}, `${localTime(h.at, { seconds: true })}: ${h.from || "—"} → ${h.to} by ${h.actor}${h.note ? ` (${h.note})` : ""}`)),
  );
  showFigures(c.figures.variants, c.figures.total);
}

async function refresh() {
  showCampaign(await api(`/api/marketing/campaigns/${id}`));
}

async function act(what) {
  $("campaign-error").hidden = true;
  try {
    const answer = await api(`/api/marketing/campaigns/${id}/${what}`, { method: "POST" });
    if (what === "cancel") {
      $("campaign-note").textContent = `Cancelled: ${answer.accepted} delivered, ${answer.in_flight} in flight, ${answer.cancelled} never sent.`;
      $("campaign-note").hidden = false;
    }
    await refresh();
  } catch (err) {
    fail(err);
  }
}

$("pause").addEventListener("click", () => act("pause"));
$("resume").addEventListener("click", () => act("resume"));
$("cancel").addEventListener("click", () => window.confirm("Stop sending this campaign now?") && act("cancel"));

realtime.subscribe(`campaign:${id}`, (msg) => {
  if (msg.type === "snapshot") return;
  if (msg.event === "push.campaign_progress") {
    $("campaign-status").textContent = msg.data.status;
    showFigures(msg.data.variants, msg.data.total);
  } else {
    refresh().catch(fail);
  }
});
realtime.watchState((s) => {
  $("connection").textContent = s === "open" ? "live" : `${s === "idle" ? "connecting" : s}…`;
});
refresh().catch(fail);
