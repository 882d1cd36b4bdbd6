"""The cart's events: none travels on a channel; sinks (analytics' funnel) see them."""

from __future__ import annotations

from typing import ClassVar

from engage.platform.events import Event


class CartItemAdded(Event):
    """A shopper (owner key) put more of a variant in their cart."""

    type: ClassVar[str] = "cart.item_added"
    visitor: str
    variant_id: int
    quantity: int  # how many were added
