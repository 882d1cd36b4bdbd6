"""Inventory's events. Stock events travel on the product's channel (commerce.catalog.events)."""

from __future__ import annotations

from typing import ClassVar

from engage.platform.events import Event


class StockChanged(Event):
    """Every change of a variant's stock level. `previous_available` shows "sold out" / "back in stock"."""

    type: ClassVar[str] = "stock.changed"
    handle: str
    variant_id: int
    sku: str
    available: int
    on_hand: int
    previous_available: int

    @property
    def flips_availability(self) -> bool:
        return (self.available > 0) != (self.previous_available > 0)


class StockLow(Event):
    """Availability fell to the variant's threshold or below (no channel: for jobs)."""

    type: ClassVar[str] = "stock.low"
    handle: str
    variant_id: int
    sku: str
    available: int
    threshold: int


class ReservationEnded(Event):
    reservation_id: int
    variant_id: int
    quantity: int
    owner: str
    source: str  # "checkout:{id}", "flash:{sale}"
    reason: str  # consumed, released, expired, payment_failed, replaced, order_cancelled


class ReservationReleased(ReservationEnded):
    type: ClassVar[str] = "reservation.released"


class ReservationConsumed(ReservationEnded):
    type: ClassVar[str] = "reservation.consumed"
