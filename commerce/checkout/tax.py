"""Sales tax from a rate table (ENGAGE_TAX_RATES): basis points by country or country-region."""

from __future__ import annotations

import json

import msgspec

DEFAULT_RATES = {
    "US": 0,
    "US-CA": 725,
    "US-NY": 400,
    "US-TX": 625,
    "CA": 500,
    "GB": 2000,
    "DE": 1900,
    "FR": 2000,
    "NL": 2100,
}


class TaxTable:
    def __init__(self, rates: dict[str, int]) -> None:
        for code, bps in rates.items():
            if not 0 <= bps <= 10_000:
                raise ValueError(f"{code}: a rate is 0 to 10000 basis points")
        self.rates = {code.upper(): bps for code, bps in rates.items()}

    @classmethod
    def parse(cls, text: str) -> TaxTable:
        """From ENGAGE_TAX_RATES (JSON object); empty text gives the defaults. ValueError when malformed."""
        try:
            raw = json.loads(text) if text.strip() else DEFAULT_RATES
            rates = msgspec.convert(raw, dict[str, int])
        except (json.JSONDecodeError, msgspec.ValidationError) as exc:
            raise ValueError(str(exc)) from None
        return cls(rates)

    def rate_bps(self, country: str, region: str = "") -> int:
        """The most specific rate: "US-CA" before "US"; unknown places pay none."""
        country, region = country.upper(), region.upper()
        if region and f"{country}-{region}" in self.rates:
            return self.rates[f"{country}-{region}"]
        return self.rates.get(country, 0)

    def tax_cents(self, taxable_cents: int, *, country: str, region: str = "") -> int:
        """Rounded half up to the minor unit."""
        return (max(taxable_cents, 0) * self.rate_bps(country, region) + 5_000) // 10_000
