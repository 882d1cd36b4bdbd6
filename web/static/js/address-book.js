import { api } from "/static/js/api.js";

// The signed-in shopper's address book (GET /api/account/addresses), for the account page and checkout.
export const ADDRESS_FIELDS = ["name", "line1", "line2", "city", "region", "postal_code", "country"];

export function addressText(address) {
  const town = [address.city, [address.region, address.postal_code].filter(Boolean).join(" ")].filter(Boolean);
  return [address.name, address.line1, address.line2, town.join(", "), address.country].filter(Boolean).join(", ");
}

export function entryText(entry) {
  return (entry.label ? `${entry.label}: ` : "") + addressText(entry.address);
}

export const savedAddresses = () => api("/api/account/addresses");
