"""The `product:{handle}` channel: price and available stock of a product's variants, and what other areas
add to it (flash sales: the product's sales).

Commerce publishes `stock.changed` and `product.changed` on it, flash sales their sale news; a socket that
subscribes (or is too far behind to resume) gets the current figures as the snapshot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce import inventory
from commerce.catalog.events import PRODUCT_KIND
from commerce.catalog.models import Product, Variant
from engage.platform.identity import Identity
from engage.realtime.access import anyone
from engage.realtime.kinds import ChannelKind, channel_id

# name -> async (session, variant ids) -> JSON-ready data, added to the snapshot under that name
SnapshotPart = Callable[[AsyncSession, list[int]], Awaitable[Any]]


def per_variant(event: str, data: dict[str, Any]) -> str:
    """Stock and price frames supersede earlier ones of the same variant; flash-sale frames those of the
    same sale; anything else earlier frames of its type."""
    if (variant := data.get("variant_id")) is not None:
        return f"{event}:{variant}"
    if (sale := data.get("sale_id")) is not None:
        return f"sale:{sale}"  # started, changed, ended: the newest state of the sale wins
    return event


async def product_state(
    session: AsyncSession, handle: str, parts: Mapping[str, SnapshotPart]
) -> dict[str, Any] | None:
    rows = (
        await session.execute(
            select(Variant.id, Variant.sku, Variant.price_cents, Variant.compare_at_cents)
            .join(Product, Product.id == Variant.product_id)
            .where(Product.handle == handle, Product.status == "published")
            .order_by(Variant.position, Variant.id)
        )
    ).all()
    if not rows:
        return None
    ids = [r.id for r in rows]
    stock = await inventory.levels(session, ids)
    state: dict[str, Any] = {
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
    }
    for name, part in parts.items():
        state[name] = await part(session, ids)
    return state


def product_kind(
    sessionmaker: async_sessionmaker[AsyncSession], parts: Mapping[str, SnapshotPart]
) -> ChannelKind:
    async def snapshot(identity: Identity, channel: str) -> dict[str, Any] | None:
        handle = channel_id(channel)
        if not handle:
            return None
        async with sessionmaker() as session:
            return await product_state(session, handle, parts)

    return ChannelKind(
        PRODUCT_KIND, authorize=anyone, policy="latest", coalesce=per_variant, snapshot=snapshot
    )
