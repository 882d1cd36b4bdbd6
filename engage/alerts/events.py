"""Staff's low-stock channel: `stock-low` (marketers and admins) carries one alert per variant that fell to
its threshold, with the signups waiting for it and a suggested reorder."""

from __future__ import annotations

from typing import ClassVar

from engage.platform.events import Event

STAFF_LOW_STOCK = "stock-low"


class LowStockAlert(Event):
    type: ClassVar[str] = "stock.low_alert"
    variant_id: int
    sku: str
    handle: str
    product_name: str
    options: dict[str, str]
    available: int
    threshold: int
    waiting_signups: int
    suggested_reorder: int
