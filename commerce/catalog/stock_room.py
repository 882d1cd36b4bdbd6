"""The stock room for staff: every variant's on hand, reserved, available and threshold, the low and
out-of-stock lists, and a suggested reorder from what sold lately."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Literal

import msgspec
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce import inventory
from commerce.catalog.models import Product, Variant
from engage.platform.clock import utcnow

Showing = Literal["all", "low", "out"]
SALES_WINDOW_DAYS = 30


class StockRow(msgspec.Struct):
    variant_id: int
    sku: str
    product_handle: str
    product_name: str
    options: dict[str, str]
    on_hand: int
    reserved: int
    available: int
    low_stock_threshold: int
    sold_last_30_days: int
    days_of_cover: float | None  # at the last 30 days' pace; None when nothing sold
    suggested_reorder: int  # units that bring it to `cover_days` of sales above its threshold


class StockPage(msgspec.Struct):
    items: list[StockRow]
    next_after: int | None  # the next page: `?after=` this variant id
    low: int  # variants at or under their threshold, still in stock
    out: int  # variants with nothing available


def suggested_reorder(available: int, threshold: int, sold: int, *, cover_days: int) -> int:
    """Enough for `cover_days` at the recent daily pace, on top of the threshold; 0 when that is there."""
    pace = sold / SALES_WINDOW_DAYS
    wanted = math.ceil(pace * cover_days) + threshold
    if sold == 0 and available > threshold:
        return 0
    return max(0, wanted - available)


async def _sold(session: AsyncSession, variant_ids: list[int]) -> dict[int, int]:
    if not variant_ids:
        return {}
    since = utcnow() - timedelta(days=SALES_WINDOW_DAYS)
    moved = inventory.StockMovement
    rows = await session.execute(
        select(moved.variant_id, func.sum(-moved.on_hand_delta))
        .where(
            moved.variant_id.in_(variant_ids),
            moved.kind == inventory.MovementKind.sale.value,
            moved.created_at >= since,
        )
        .group_by(moved.variant_id)
    )
    return {int(v): int(n or 0) for v, n in rows}


def _showing(showing: Showing) -> list[Any]:
    level = inventory.StockLevel
    available = level.on_hand - level.reserved
    if showing == "out":
        return [available <= 0]
    if showing == "low":
        return [available > 0, available <= level.low_stock_threshold]
    return []


def _select() -> Any:
    level = inventory.StockLevel
    return (
        select(Variant, Product.handle, Product.name, level)
        .join(Product, Product.id == Variant.product_id)
        .join(level, level.variant_id == Variant.id)
    )


async def _rows(session: AsyncSession, found: Sequence[Any], cover_days: int) -> list[StockRow]:
    sold = await _sold(session, [r.Variant.id for r in found])
    rows = []
    for variant, handle, name, stock in found:
        available = stock.on_hand - stock.reserved
        units = sold.get(variant.id, 0)
        rows.append(
            StockRow(
                variant_id=variant.id,
                sku=variant.sku,
                product_handle=handle,
                product_name=name,
                options=dict(variant.options or {}),
                on_hand=stock.on_hand,
                reserved=stock.reserved,
                available=available,
                low_stock_threshold=stock.low_stock_threshold,
                sold_last_30_days=units,
                days_of_cover=round(available / (units / SALES_WINDOW_DAYS), 1) if units else None,
                suggested_reorder=suggested_reorder(
                    available, stock.low_stock_threshold, units, cover_days=cover_days
                ),
            )
        )
    return rows


async def stock_of(
    session: AsyncSession, variant_ids: Sequence[int], *, cover_days: int = 30
) -> list[StockRow]:
    """These variants' rows (an alert about one of them), in id order."""
    found = (
        await session.execute(_select().where(Variant.id.in_(list(variant_ids))).order_by(Variant.id))
    ).all()
    return await _rows(session, found, cover_days)


async def low_and_out(session: AsyncSession, *, cover_days: int = 30, limit: int = 500) -> list[StockRow]:
    """Every variant at or under its threshold, sold out first (the daily digest)."""
    level = inventory.StockLevel
    left = level.on_hand - level.reserved
    found = (
        await session.execute(
            _select().where(left <= level.low_stock_threshold).order_by(left, Variant.id).limit(limit)
        )
    ).all()
    return await _rows(session, found, cover_days)


async def stock_room(
    session: AsyncSession,
    *,
    showing: Showing = "all",
    q: str = "",
    after: int | None = None,
    limit: int = 50,
    cover_days: int = 30,
) -> StockPage:
    level = inventory.StockLevel
    query = _select().where(*_showing(showing))
    if q.strip():
        term = q.strip()
        query = query.where(
            or_(Product.name.icontains(term, autoescape=True), func.lower(Variant.sku) == term.lower())
        )
    if after:
        query = query.where(Variant.id > after)
    size = min(max(limit, 1), 200)
    found = (await session.execute(query.order_by(Variant.id).limit(size + 1))).all()
    more = len(found) > size
    found = found[:size]
    left = level.on_hand - level.reserved
    counts = (
        await session.execute(
            select(
                func.count().filter(left > 0, left <= level.low_stock_threshold),
                func.count().filter(left <= 0),
            )
        )
    ).one()
    return StockPage(
        await _rows(session, found, cover_days),
        found[-1].Variant.id if more else None,
        int(counts[0]),
        int(counts[1]),
    )
