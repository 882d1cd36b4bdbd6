"""The orders' events: a signed-in shopper's order changes on their private channel."""

from __future__ import annotations

from typing import ClassVar

from engage.platform.events import Event


class OrderUpdated(Event):
    """Every status change of an order (and tracking updates): on `user:{id}` for a signed-in shopper's
    order, on no channel for a guest's (sinks still see it: sales figures, search conversions)."""

    type: ClassVar[str] = "order.updated"
    order_id: int
    number: str
    status: str
    total_cents: int
    refunded_cents: int
    currency: str
    tracking_number: str | None
    carrier: str | None
    expected_delivery: str | None  # ISO date
