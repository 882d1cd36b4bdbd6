"""Keeping `sales_quarters` true to the orders: a quarter is recomputed from the orders paid in it whenever
one of them changes (paid, refunded, cancelled), by a job the order events queue, and by a sweep of the
orders changed lately (an event lost in a crash). Recomputing is idempotent: a quarter always ends equal to
its orders, whoever recomputes it and however often."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.orders import Order, OrderStatus
from engage.analytics.models import SalesQuarter
from engage.platform.clock import as_utc, utcnow
from engage.platform.db import insert_for

QUARTER = timedelta(minutes=15)
COUNTED = [
    OrderStatus.paid.value,
    OrderStatus.fulfilled.value,
    OrderStatus.shipped.value,
    OrderStatus.delivered.value,
    OrderStatus.refunded.value,
    OrderStatus.partially_refunded.value,
]
SWEEP_BACK = timedelta(minutes=20)  # the sweep looks at orders changed this long ago or later
BACKFILL_DAYS = 7  # a rebuild reads the orders a week at a time


def quarter_of(moment: datetime) -> datetime:
    moment = as_utc(moment)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


async def _paid(session: AsyncSession, since: datetime, until: datetime) -> list[tuple[datetime, int, int]]:
    rows = await session.execute(
        select(Order.paid_at, Order.total_cents, Order.refunded_cents).where(
            Order.paid_at >= since, Order.paid_at < until, Order.status.in_(COUNTED)
        )
    )
    return [(as_utc(paid), total, refunded) for paid, total, refunded in rows if paid is not None]


def _sums(rows: Iterable[tuple[datetime, int, int]]) -> dict[datetime, list[int]]:
    sums: dict[datetime, list[int]] = defaultdict(lambda: [0, 0, 0])
    for paid_at, total, refunded in rows:
        quarter = sums[quarter_of(paid_at)]
        quarter[0] += 1
        quarter[1] += total - refunded
        quarter[2] += refunded
    return sums


async def _write(
    session: AsyncSession, since: datetime, until: datetime, sums: dict[datetime, list[int]]
) -> None:
    """The quarters of [since, until) become `sums` (quarters with no order: no row)."""
    await session.execute(
        delete(SalesQuarter).where(SalesQuarter.starts_at >= since, SalesQuarter.starts_at < until)
    )
    if not sums:
        return
    now = utcnow()
    rows = [
        {"starts_at": at, "orders": n, "revenue_cents": revenue, "refunds_cents": refunds, "updated_at": now}
        for at, (n, revenue, refunds) in sorted(sums.items())
    ]
    statement = insert_for(session)(SalesQuarter).values(rows)
    excluded = statement.excluded  # a racing recompute of the same quarter wrote it meanwhile: ours wins
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[SalesQuarter.starts_at],
            set_={
                "orders": excluded.orders,
                "revenue_cents": excluded.revenue_cents,
                "refunds_cents": excluded.refunds_cents,
                "updated_at": excluded.updated_at,
            },
        )
    )


async def refresh(session: AsyncSession, quarters: Iterable[datetime]) -> int:
    """Recompute these quarters from their orders. Commits."""
    done = 0
    for starts_at in sorted({quarter_of(q) for q in quarters}):
        await _write(
            session,
            starts_at,
            starts_at + QUARTER,
            _sums(await _paid(session, starts_at, starts_at + QUARTER)),
        )
        done += 1
    await session.commit()
    return done


async def refresh_orders(session: AsyncSession, order_ids: Iterable[int]) -> int:
    """The quarters these orders were paid in (a paid, refunded or cancelled order moves its quarter)."""
    ids = sorted(set(order_ids))
    if not ids:
        return 0
    paid = await session.scalars(select(Order.paid_at).where(Order.id.in_(ids), Order.paid_at.is_not(None)))
    return await refresh(session, [p for p in paid if p is not None])


async def sweep(session: AsyncSession, *, now: datetime | None = None) -> int:
    """The quarters of orders changed lately: what an event lost in a crash left behind."""
    since = (now or utcnow()) - SWEEP_BACK
    paid = await session.scalars(
        select(Order.paid_at).where(Order.updated_at >= since, Order.paid_at.is_not(None)).distinct()
    )
    return await refresh(session, [p for p in paid if p is not None])


async def rebuild(session: AsyncSession, since: datetime | None = None, until: datetime | None = None) -> int:
    """Every quarter between `since` and `until` (default: all the orders there are) recomputed, a week at a
    time. Commits after each week."""
    first = await session.scalar(select(func.min(Order.paid_at)))
    if first is None:
        return 0
    start = quarter_of(since or first)
    end = until or utcnow() + QUARTER
    written = 0
    while start < end:
        stop = min(start + timedelta(days=BACKFILL_DAYS), end)
        sums = _sums(await _paid(session, start, stop))
        await _write(session, start, stop, sums)
        await session.commit()
        written += len(sums)
        start = stop
    return written


async def needs_rebuild(session: AsyncSession) -> bool:
    """Orders were paid but nothing is kept yet (a new install on an existing shop)."""
    kept = await session.scalar(select(SalesQuarter.starts_at).limit(1))
    paid = await session.scalar(select(Order.id).where(Order.paid_at.is_not(None)).limit(1))
    return kept is None and paid is not None
