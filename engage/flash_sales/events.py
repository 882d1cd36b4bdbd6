"""Flash sales' events and the channels they travel on."""

from __future__ import annotations

from typing import Any, ClassVar

from engage.platform.events import Event

# Every published sale's changes, starts and ends: storefront banners learn of a new sale at once.
LISTING_CHANNEL = "flash-sales"


def sale_channel(sale_id: int) -> str:
    """Public: times for the countdown, units left, started/ended/cancelled."""
    return f"sale:{sale_id}"


def staff_channel(sale_id: int) -> str:
    """Marketing: the sale's live figures."""
    return f"sale-admin:{sale_id}"


class SaleNews(Event):
    """A published sale's new state, on its channel, the listing and its products' channels."""

    sale_id: int
    sale: dict[str, Any]  # the public sale view (timeline.sale_view)


class SaleChanged(SaleNews):
    type: ClassVar[str] = "sale.changed"


class SaleCancelled(SaleNews):
    type: ClassVar[str] = "sale.cancelled"


class SaleStarted(SaleNews):
    type: ClassVar[str] = "sale.started"


class SaleEnded(SaleNews):
    type: ClassVar[str] = "sale.ended"


class ItemUnits(Event):
    """Public: what is left of an item (`sale:{id}`)."""

    type: ClassVar[str] = "sale.units"
    sale_id: int
    item_id: int
    variant_id: int
    sale_price_cents: int
    units_allotted: int
    units_left: int


class ItemStats(Event):
    """Marketing: an item's figures (`sale-admin:{id}`)."""

    type: ClassVar[str] = "sale.stats"
    sale_id: int
    item_id: int
    variant_id: int
    sale_price_cents: int
    units_allotted: int
    units_left: int
    units_claimed: int
    units_paid: int
    claims_total: int
    revenue_cents: int
