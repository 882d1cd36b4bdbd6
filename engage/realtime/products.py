"""The `product:{handle}` channel: price and available stock of a product's variants, and its flash sales.

Commerce publishes `stock.changed` and `product.changed` on it, flash sales `sale.started`, `sale.ended`,
`sale.changed` and `sale.cancelled`; a socket that subscribes (or is too far behind to resume) gets the
current figures as the snapshot.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from commerce import inventory
from commerce.catalog import Product, Variant
from engage.flash_sales.timeline import sales_for_variants
from engage.platform.identity import Identity
from engage.platform.runtime import Runtime
from engage.realtime.access import anyone
from engage.realtime.kinds import ChannelKind, channel_id


def per_variant(event: str, data: dict[str, Any]) -> str:
    """Stock and price frames supersede earlier ones of the same variant; flash-sale frames those of the
    same sale; anything else earlier frames of its type."""
    if (variant := data.get("variant_id")) is not None:
        return f"{event}:{variant}"
    if (sale := data.get("sale_id")) is not None:
        return f"sale:{sale}"  # started, changed, ended: the newest state of the sale wins
    return event


async def product_state(runtime: Runtime, handle: str) -> dict[str, Any] | None:
    async with runtime.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Variant.id, Variant.sku, Variant.price_cents, Variant.compare_at_cents)
                .join(Product, Product.id == Variant.product_id)
                .where(Product.handle == handle, Product.status == "published")
                .order_by(Variant.position, Variant.id)
            )
        ).all()
        stock = await inventory.levels(session, [r.id for r in rows])
        sales = await sales_for_variants(session, [r.id for r in rows]) if rows else []
    if not rows:
        return None
    return {
        "handle": handle,
        "variants": [
            {
                "variant_id": r.id,
                "sku": r.sku,
                "price_cents": r.price_cents,
                "compare_at_cents": r.compare_at_cents,
                "available": stock[r.id].available if r.id in stock else None,
                "on_hand": stock[r.id].on_hand if r.id in stock else None,
            }
            for r in rows
        ],
        "flash_sales": sales,  # upcoming or live, with the server's time for countdowns
    }


def product_kind(runtime: Runtime) -> ChannelKind:
    async def snapshot(identity: Identity, channel: str) -> dict[str, Any] | None:
        handle = channel_id(channel)
        return await product_state(runtime, handle) if handle else None

    return ChannelKind("product", authorize=anyone, policy="latest", coalesce=per_variant, snapshot=snapshot)
