"""Each metric's standings computed from the database: the truth the sorted sets are rebuilt from.

A user's value is a sum (or count) over the board's window; `reached` is the time of the newest row that
counts, so equal values rank by who got there first, and a rebuild gives exactly the live board.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from commerce.catalog.models import Category, Product, Variant
from commerce.orders.models import Order, OrderLine
from engage.flash_sales.models import ClaimStatus, FlashClaim
from engage.leaderboards.boards import Window
from engage.leaderboards.models import Leaderboard, Metric
from engage.loyalty.models import Kind, LedgerEntry, Referral, ReferralStatus, Unit
from engage.platform.clock import epoch_ms

Row = tuple[int, int, int]  # (user_id, value, reached_ms)

_COUNTED = ("paid", "fulfilled", "shipped", "delivered", "partially_refunded")


def _within(
    column: ColumnElement[datetime | None]
    | InstrumentedAttribute[datetime | None]
    | InstrumentedAttribute[datetime],
    window: Window,
) -> list[ColumnElement[bool]]:
    where = []
    if window.start is not None:
        where.append(column >= window.start)
    if window.end is not None:
        where.append(column < window.end)
    return where


async def _subtree(session: AsyncSession, category_id: int) -> list[int]:
    rows = (await session.execute(select(Category.id, Category.parent_id))).all()
    children: dict[int | None, list[int]] = {}
    for cid, parent in rows:
        children.setdefault(parent, []).append(cid)
    found, todo = [], [category_id]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


async def _query(session: AsyncSession, board: Leaderboard, window: Window) -> Select[*tuple[Any, ...]]:
    metric = Metric(board.metric)
    if metric is Metric.points_earned:
        return (
            select(LedgerEntry.user_id, func.sum(LedgerEntry.amount), func.max(LedgerEntry.created_at))
            .where(
                LedgerEntry.unit == Unit.points.value,
                LedgerEntry.kind.in_([Kind.pending.value, Kind.earned.value, Kind.reversed.value]),
                LedgerEntry.transfer.is_(False),
                *_within(LedgerEntry.created_at, window),
            )
            .group_by(LedgerEntry.user_id)
        )
    if metric is Metric.referrals_completed:
        return (
            select(Referral.referrer_id, func.count(Referral.id), func.max(Referral.rewarded_at))
            .where(Referral.status == ReferralStatus.rewarded.value, *_within(Referral.rewarded_at, window))
            .group_by(Referral.referrer_id)
        )
    if metric is Metric.flash_sale_purchases:
        return (
            select(FlashClaim.user_id, func.count(FlashClaim.id), func.max(FlashClaim.updated_at))
            .where(
                FlashClaim.sale_id == board.flash_sale_id,
                FlashClaim.status == ClaimStatus.paid.value,
                FlashClaim.user_id.is_not(None),
            )
            .group_by(FlashClaim.user_id)
        )
    categories = await _subtree(session, board.category_id) if board.category_id is not None else []
    kept = (
        OrderLine.line_total_cents * (OrderLine.quantity - OrderLine.returned_quantity) / OrderLine.quantity
    )
    return (
        select(Order.user_id, func.sum(kept), func.max(Order.paid_at))
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Variant, Variant.id == OrderLine.variant_id)
        .join(Product, Product.id == Variant.product_id)
        .where(
            Order.user_id.is_not(None),
            Order.paid_at.is_not(None),
            Order.status.in_(_COUNTED),
            Product.category_id.in_(categories),
            *_within(Order.paid_at, window),
        )
        .group_by(Order.user_id)
    )


def _user_column(query: Select[*tuple[Any, ...]]) -> ColumnElement[int]:
    return query.selected_columns[0]


async def values(
    session: AsyncSession, board: Leaderboard, window: Window, users: Collection[int] | None = None
) -> list[Row]:
    """(user, value, reached_ms) for `users` (every user when None); users with nothing get value 0."""
    query = await _query(session, board, window)
    if users is not None:
        query = query.where(_user_column(query).in_(list(users)))
    rows = [
        (int(user), int(value or 0), epoch_ms(reached) if reached is not None else 0)
        for user, value, reached in await session.execute(query)
        if user is not None
    ]
    if users is not None:
        seen = {r[0] for r in rows}
        rows += [(u, 0, 0) for u in users if u not in seen]
    return rows
