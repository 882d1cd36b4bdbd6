"""Shipping methods from configuration (ENGAGE_SHIPPING_RATES): flat rates and weight-based rates."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Annotated

import msgspec

from engage.platform.errors import InvalidInput

Cents = Annotated[int, msgspec.Meta(ge=0)]


class MethodConfig(msgspec.Struct, forbid_unknown_fields=True):
    label: str
    flat_cents: Cents | None = None  # a flat rate...
    base_cents: Cents = 0  # ...or a base plus a rate per started kilogram
    per_kg_cents: Cents | None = None
    free_over_cents: Cents | None = None  # free when the goods cost at least this much
    delivery_days: tuple[int, int] = (3, 5)  # business days, for the expected delivery date
    countries: list[str] | None = None  # ISO codes it ships to; None: everywhere


DEFAULT_RATES = {
    "standard": {"label": "Standard", "flat_cents": 500, "free_over_cents": 7500, "delivery_days": [3, 5]},
    "express": {"label": "Express", "base_cents": 900, "per_kg_cents": 300, "delivery_days": [1, 2]},
}


@dataclass(frozen=True, slots=True)
class ShippingQuote:
    code: str
    label: str
    cents: int
    delivery_days: tuple[int, int]


class ShippingRates:
    def __init__(self, methods: dict[str, MethodConfig]) -> None:
        if not methods:
            raise ValueError("at least one shipping method is needed")
        for code, method in methods.items():
            if (method.flat_cents is None) == (method.per_kg_cents is None):
                raise ValueError(f"{code}: give either flat_cents or per_kg_cents")
            low, high = method.delivery_days
            if not 0 <= low <= high:
                raise ValueError(f"{code}: delivery_days must be [min, max]")
        self.methods = methods

    @classmethod
    def parse(cls, text: str) -> ShippingRates:
        """From ENGAGE_SHIPPING_RATES (JSON); empty text gives the defaults. ValueError when malformed."""
        try:
            raw = json.loads(text) if text.strip() else DEFAULT_RATES
            methods = msgspec.convert(raw, dict[str, MethodConfig])
        except (json.JSONDecodeError, msgspec.ValidationError) as exc:
            raise ValueError(str(exc)) from None
        return cls(methods)

    def quote(self, code: str, *, weight_grams: int, goods_cents: int, country: str = "") -> ShippingQuote:
        method = self.methods.get(code)
        if method is None:
            raise InvalidInput(f"unknown shipping method {code!r}", field="shipping_method")
        if country and method.countries is not None and country not in method.countries:
            raise InvalidInput(f"{method.label} does not ship to {country}", field="shipping_method")
        if method.free_over_cents is not None and goods_cents >= method.free_over_cents:
            cents = 0
        elif method.flat_cents is not None:
            cents = method.flat_cents
        else:
            assert method.per_kg_cents is not None
            cents = method.base_cents + method.per_kg_cents * math.ceil(max(weight_grams, 0) / 1000)
        return ShippingQuote(code, method.label, cents, method.delivery_days)

    def quotes(self, *, weight_grams: int, goods_cents: int, country: str = "") -> list[ShippingQuote]:
        return [
            self.quote(code, weight_grams=weight_grams, goods_cents=goods_cents)
            for code, method in self.methods.items()
            if not country or method.countries is None or country in method.countries
        ]
