// Money typed and shown by staff in currency units ("12.34"), carried as integer minor units (1234).
// Parsing works on the text, never through floating point.

export function currencyDigits(currency) {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
  } catch {
    return 2;
  }
}

// "19.99" (or "19,99") in currency units -> 1999 minor units; null when it is not an amount. Exact: no floats.
export function toMinorUnits(text, digits) {
  const value = String(text).trim().replace(/\s/g, "");
  const normalized = value.includes(".") ? value.replace(/,/g, "") : value.replace(",", ".");
  const match = /^(\d+)(?:\.(\d*))?$/.exec(normalized);
  if (!match) return null;
  const fraction = match[2] || "";
  if (fraction.length > digits) return null;
  const minor = Number(match[1] + fraction.padEnd(digits, "0"));
  return Number.isSafeInteger(minor) ? minor : null;
}

// 1999 minor units -> "19.99" (for an input's value): digits by string, no floats.
export function fromMinorUnits(minor, digits) {
  const negative = minor < 0;
  const text = String(Math.abs(Math.trunc(minor))).padStart(digits + 1, "0");
  const whole = digits ? `${text.slice(0, -digits)}.${text.slice(-digits)}` : text;
  return negative ? `-${whole}` : whole;
}

export function formatMoney(minor, currency) {
  return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(minor / 10 ** currencyDigits(currency));
}
