"""The shop's rules for checkout, read once from settings: currency, hold time, shipping, tax."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from commerce.checkout.shipping import ShippingRates
from commerce.checkout.tax import TaxTable
from engage.config import Settings


@dataclass(frozen=True)
class ShopPolicy:
    currency: str
    hold_seconds: int
    shipping: ShippingRates
    taxes: TaxTable
    # commerce.checkout.adjustments.CheckoutAdjustment, in order (the wiring fills Services.adjustments)
    adjustments: Sequence[Any] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> ShopPolicy:
        """ValueError naming the setting when ENGAGE_SHIPPING_RATES or ENGAGE_TAX_RATES is malformed."""
        try:
            shipping = ShippingRates.parse(settings.shipping_rates)
        except ValueError as exc:
            raise ValueError(f"ENGAGE_SHIPPING_RATES: {exc}") from None
        try:
            taxes = TaxTable.parse(settings.tax_rates)
        except ValueError as exc:
            raise ValueError(f"ENGAGE_TAX_RATES: {exc}") from None
        return cls(
            currency=settings.currency.lower(),
            hold_seconds=settings.reservation_hold_seconds,
            shipping=shipping,
            taxes=taxes,
        )
