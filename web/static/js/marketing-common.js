// What the two marketing pages share: local time for UTC instants, money typed in currency units (money.js),
// sale phases.
export const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";

export const PHASE_LABELS = {
  draft: "draft",
  upcoming: "scheduled",
  live: "live",
  ended: "ended",
  cancelled: "cancelled",
};

const PHASE_BADGES = { draft: "", upcoming: "warn", live: "ok", ended: "", cancelled: "sale" };

export function phaseBadgeClass(phase) {
  return `badge phase phase-${phase} ${PHASE_BADGES[phase] || ""}`.trim();
}

// A sale's phase by the server's clock (`nowMs`): the same rule as engage/flash_sales/timeline.py phase_of.
export function phaseAt(sale, nowMs) {
  if (sale.status === "draft") return "draft";
  if (sale.status === "cancelled") return "cancelled";
  const starts = sale.starts_at_ms ?? Date.parse(sale.starts_at);
  const ends = sale.ends_at_ms ?? Date.parse(sale.ends_at);
  if (nowMs < starts) return "upcoming";
  return nowMs < ends ? "live" : "ended";
}

// An instant (ISO 8601, UTC from the server) in the viewer's time zone.
export function localTime(iso, { seconds = false } = {}) {
  if (!iso) return "";
  const date = new Date(iso);
  return date.toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: seconds ? "2-digit" : undefined,
  });
}

const pad = (n) => String(n).padStart(2, "0");

// ISO instant -> the value of an <input type="datetime-local"> in the viewer's time zone.
export function toLocalInput(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// <input type="datetime-local"> value (viewer's time zone) -> ISO instant in UTC, or null.
export function fromLocalInput(value) {
  if (!value) return null;
  const d = new Date(value); // a date-time without offset is local time
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

// Money in staff forms: shared with the catalog editor.
export { currencyDigits, formatMoney, fromMinorUnits, toMinorUnits } from "/static/js/money.js";

export function describeVariant(item) {
  const options = Object.entries(item.options || {})
    .map(([k, v]) => `${k} ${v}`)
    .join(" / ");
  return [item.product_name, options].filter(Boolean).join(" · ");
}
