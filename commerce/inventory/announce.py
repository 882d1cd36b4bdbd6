"""The one place stock events leave from: every change of a stock level passes through `stock_moved`.

`stock.changed` goes to `product:{handle}` for every change; `stock.low` (no channel) when availability falls
to the variant's threshold or below. `previous_available` lets listeners spot "back in stock" and "sold out".
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.models import Product, Variant
from engage.platform.events import record_untyped as record

_NAMES = "commerce.inventory.names"


@dataclass(frozen=True, slots=True)
class StockChange:
    variant_id: int
    on_hand: int
    available: int
    previous_available: int
    threshold: int


async def _names(session: AsyncSession, variant_id: int) -> tuple[str, str]:
    """(handle, sku) of a variant, remembered for the rest of the session."""
    cache: dict[int, tuple[str, str]] = session.info.setdefault(_NAMES, {})
    if variant_id not in cache:
        row = (
            await session.execute(
                select(Product.handle, Variant.sku)
                .join(Variant, Variant.product_id == Product.id)
                .where(Variant.id == variant_id)
            )
        ).one()
        cache[variant_id] = (row.handle, row.sku)
    return cache[variant_id]


async def stock_moved(session: AsyncSession, change: StockChange) -> None:
    handle, sku = await _names(session, change.variant_id)
    record(
        session,
        "stock.changed",
        {
            "handle": handle,
            "variant_id": change.variant_id,
            "sku": sku,
            "available": change.available,
            "on_hand": change.on_hand,
            "previous_available": change.previous_available,
        },
        channels=[f"product:{handle}"],
    )
    if change.available <= change.threshold < change.previous_available:
        record(
            session,
            "stock.low",
            {
                "handle": handle,
                "variant_id": change.variant_id,
                "sku": sku,
                "available": change.available,
                "threshold": change.threshold,
            },
        )


def reservation_ended(
    session: AsyncSession,
    *,
    reservation_id: int,
    variant_id: int,
    quantity: int,
    owner: str,
    source: str,
    reason: str,
) -> None:
    """`reservation.released` (reason "released", "expired", "payment_failed"...) or `reservation.consumed`."""
    kind = "reservation.consumed" if reason == "consumed" else "reservation.released"
    record(
        session,
        kind,
        {
            "reservation_id": reservation_id,
            "variant_id": variant_id,
            "quantity": quantity,
            "owner": owner,
            "source": source,
            "reason": reason,
        },
    )
