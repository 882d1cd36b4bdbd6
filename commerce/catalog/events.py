"""The catalog's events and the product channel they travel on (with inventory's and flash sales')."""

from __future__ import annotations

from typing import ClassVar

import msgspec

from engage.platform.events import Event

PRODUCT_KIND = "product"


def product_channel(handle: str) -> str:
    """Price, stock and flash sales of one product, public (the hub's `product:{handle}` kind)."""
    return f"{PRODUCT_KIND}:{handle}"


class VariantPrice(msgspec.Struct, frozen=True):
    variant_id: int
    sku: str
    price_cents: int
    compare_at_cents: int | None


class ProductChanged(Event):
    """A product was created, edited or deleted (search re-embeds it, caches drop it)."""

    type: ClassVar[str] = "product.changed"
    handle: str
    product_id: int
    name: str
    status: str  # draft, published, archived or "deleted"
    price_cents: int
    variants: list[VariantPrice]


class ProductViewed(Event):
    """A visitor (owner key) opened a product's page (analytics' funnel counts it; on no channel)."""

    type: ClassVar[str] = "product.viewed"
    handle: str
    visitor: str
