"""Leaderboard definitions (marketers and admins) and their periods in time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.models import Category
from engage.flash_sales.models import FlashSale
from engage.leaderboards.models import Leaderboard, Metric, Period

__all__ = [
    "BoardPlan",
    "BoardView",
    "Leaderboard",
    "Window",
    "create",
    "get",
    "listed",
    "update",
    "view_of",
    "window_of",
]
from engage.platform.clock import utcnow
from engage.platform.errors import InvalidInput, NotFound

# Keys of a finished month or week stay this long after its end (a page still shows the final standings).
KEEP_AFTER_END = timedelta(days=7)


class BoardPlan(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    metric: Metric
    period: Period
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    flash_sale_id: int | None = None
    category_id: int | None = None
    show_names: bool = True
    size: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10
    active: bool = True


class BoardView(msgspec.Struct):
    id: int
    name: str
    metric: str
    period: str
    starts_at: datetime | None
    ends_at: datetime | None
    flash_sale_id: int | None
    category_id: int | None
    show_names: bool
    size: int
    active: bool


def view_of(board: Leaderboard) -> BoardView:
    return BoardView(
        id=board.id,
        name=board.name,
        metric=board.metric,
        period=board.period,
        starts_at=board.starts_at,
        ends_at=board.ends_at,
        flash_sale_id=board.flash_sale_id,
        category_id=board.category_id,
        show_names=board.show_names,
        size=board.size,
        active=board.active,
    )


@dataclass(frozen=True, slots=True)
class Window:
    key: str  # the period's part of the store key: "all", "m2026-12", "w2026-49", "range", "sale12"
    start: datetime | None
    end: datetime | None  # exclusive

    def ttl_seconds(self, now: datetime) -> int | None:
        if self.end is None:
            return None
        return max(60, int((self.end + KEEP_AFTER_END - now).total_seconds()))


def window_of(board: Leaderboard, sale: FlashSale | None, now: datetime | None = None) -> Window:
    now = now or utcnow()
    period = Period(board.period)
    if period is Period.month:
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (start + timedelta(days=32)).replace(day=1)
        return Window(f"m{start:%Y-%m}", start, end)
    if period is Period.week:
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        start = day - timedelta(days=day.weekday())
        iso = start.isocalendar()
        return Window(f"w{iso.year}-{iso.week:02d}", start, start + timedelta(days=7))
    if period is Period.range:
        return Window("range", board.starts_at, board.ends_at)
    if period is Period.flash_sale:
        if sale is None:
            return Window("sale-missing", now, now)
        return Window(f"sale{sale.id}", sale.starts_at, sale.ends_at)
    return Window("all", None, None)


async def _check(session: AsyncSession, plan: BoardPlan) -> None:
    if not plan.name.strip() or not plan.name.isprintable():
        raise InvalidInput("a name is printable text", field="name")
    if plan.period is Period.range:
        if plan.starts_at is None or plan.ends_at is None or plan.ends_at <= plan.starts_at:
            raise InvalidInput("a date range needs starts_at before ends_at", field="ends_at")
        if plan.starts_at.tzinfo is None or plan.ends_at.tzinfo is None:
            raise InvalidInput("give times with their offset (UTC: Z)", field="starts_at")
    if plan.period is Period.flash_sale or plan.metric is Metric.flash_sale_purchases:
        if plan.flash_sale_id is None or await session.get(FlashSale, plan.flash_sale_id) is None:
            raise InvalidInput("choose an existing flash sale", field="flash_sale_id")
    if plan.metric is Metric.category_spend:
        if plan.category_id is None or await session.get(Category, plan.category_id) is None:
            raise InvalidInput("choose an existing category", field="category_id")


async def create(session: AsyncSession, plan: BoardPlan, *, created_by: int | None) -> Leaderboard:
    await _check(session, plan)
    board = Leaderboard(created_by=created_by, **_fields(plan))
    session.add(board)
    await session.commit()
    return board


async def update(session: AsyncSession, board_id: int, plan: BoardPlan) -> Leaderboard:
    board = await session.get(Leaderboard, board_id, with_for_update=True)
    if board is None:
        raise NotFound("no such leaderboard")
    await _check(session, plan)
    for name, value in _fields(plan).items():
        setattr(board, name, value)
    board.updated_at = utcnow()
    await session.commit()
    return board


def _fields(plan: BoardPlan) -> dict[str, object]:
    return {
        "name": plan.name.strip(),
        "metric": plan.metric.value,
        "period": plan.period.value,
        "starts_at": plan.starts_at if plan.period is Period.range else None,
        "ends_at": plan.ends_at if plan.period is Period.range else None,
        "flash_sale_id": plan.flash_sale_id,
        "category_id": plan.category_id if plan.metric is Metric.category_spend else None,
        "show_names": plan.show_names,
        "size": plan.size,
        "active": plan.active,
    }


async def get(session: AsyncSession, board_id: int, *, active_only: bool = True) -> Leaderboard:
    board = await session.get(Leaderboard, board_id)
    if board is None or (active_only and not board.active):
        raise NotFound("no such leaderboard")
    return board


async def listed(session: AsyncSession, *, active_only: bool = True) -> list[Leaderboard]:
    query = select(Leaderboard).order_by(Leaderboard.id)
    if active_only:
        query = query.where(Leaderboard.active.is_(True))
    return list((await session.scalars(query)).all())


async def for_sale(session: AsyncSession, sale_id: int) -> list[Leaderboard]:
    return list(
        (
            await session.scalars(
                select(Leaderboard).where(Leaderboard.active.is_(True), Leaderboard.flash_sale_id == sale_id)
            )
        ).all()
    )
