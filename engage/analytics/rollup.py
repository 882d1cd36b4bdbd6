"""Keeping the kept figures true to the orders: sales per quarter hour, products per day of the shop's time
zone, and each buyer's first payment. Whatever an order's change touches (its quarter, its day, its buyer)
is recomputed from the orders, by a job each order event queues and by a sweep of the orders changed lately
(an event lost in a crash). Recomputing is idempotent: a figure always ends equal to its orders, whoever
recomputes it and however often."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.orders import Order, OrderLine, OrderStatus
from engage.analytics.models import Buyer, ProductDay, SalesQuarter
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
# what a line kept is worth: its total for the units not returned
KEPT_UNITS = OrderLine.quantity - OrderLine.returned_quantity
KEPT_CENTS = OrderLine.line_total_cents * KEPT_UNITS / OrderLine.quantity


def quarter_of(moment: datetime) -> datetime:
    moment = as_utc(moment)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return datetime.combine(day, time(), zone), datetime.combine(day + timedelta(days=1), time(), zone)


# ---- sales per quarter hour ---------------------------------------------------------------------------------


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


async def _write_quarters(
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


async def _quarters(session: AsyncSession, quarters: Iterable[datetime]) -> None:
    for starts_at in sorted({quarter_of(q) for q in quarters}):
        until = starts_at + QUARTER
        await _write_quarters(session, starts_at, until, _sums(await _paid(session, starts_at, until)))


# ---- products per day ---------------------------------------------------------------------------------------


async def products_sold(
    session: AsyncSession, since: datetime, until: datetime
) -> list[tuple[str, str, int, int]]:
    """(handle, name, units kept, revenue kept) of the orders paid in [since, until), read from the lines."""
    rows = await session.execute(
        select(OrderLine.product_handle, func.max(OrderLine.name), func.sum(KEPT_UNITS), func.sum(KEPT_CENTS))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.paid_at >= since, Order.paid_at < until, Order.status.in_(COUNTED))
        .group_by(OrderLine.product_handle)
    )
    return [(handle, name, int(units or 0), int(cents or 0)) for handle, name, units, cents in rows]


async def _days(session: AsyncSession, days: Iterable[date], zone: ZoneInfo) -> None:
    insert = insert_for(session)
    for day in sorted(set(days)):
        await session.execute(delete(ProductDay).where(ProductDay.zone == zone.key, ProductDay.day == day))
        sold = await products_sold(session, *day_bounds(day, zone))
        if not sold:
            continue
        rows = [
            {"zone": zone.key, "day": day, "product_handle": h, "name": n, "units": u, "revenue_cents": c}
            for h, n, u, c in sold
        ]
        statement = insert(ProductDay).values(rows)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[ProductDay.zone, ProductDay.day, ProductDay.product_handle],
                set_={
                    "name": statement.excluded.name,
                    "units": statement.excluded.units,
                    "revenue_cents": statement.excluded.revenue_cents,
                },
            )
        )


# ---- buyers -------------------------------------------------------------------------------------------------


async def _buyers(session: AsyncSession, emails: Iterable[str]) -> None:
    insert = insert_for(session)
    for email in sorted(set(emails)):
        first = await session.scalar(
            select(func.min(Order.paid_at)).where(Order.email == email, Order.status.in_(COUNTED))
        )
        if first is None:
            await session.execute(delete(Buyer).where(Buyer.email == email))
            continue
        statement = insert(Buyer).values(email=email, first_paid_at=as_utc(first))
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[Buyer.email], set_={"first_paid_at": statement.excluded.first_paid_at}
            )
        )


# ---- what the jobs call -------------------------------------------------------------------------------------


async def _touched(session: AsyncSession, rows: Iterable[tuple[datetime | None, str]], zone: ZoneInfo) -> int:
    paid = [(as_utc(at), email) for at, email in rows if at is not None]
    await _quarters(session, [at for at, _ in paid])
    await _days(session, [at.astimezone(zone).date() for at, _ in paid], zone)
    await _buyers(session, [email for _, email in paid])
    await session.commit()
    return len({quarter_of(at) for at, _ in paid})


async def refresh_orders(session: AsyncSession, order_ids: Iterable[int], *, zone: ZoneInfo) -> int:
    """What these orders touch (a paid, refunded or cancelled order moves its quarter, day and buyer); the
    number of quarters recomputed. Commits."""
    ids = sorted(set(order_ids))
    if not ids:
        return 0
    rows = await session.execute(select(Order.paid_at, Order.email).where(Order.id.in_(ids)))
    return await _touched(session, rows.tuples(), zone)


async def sweep(session: AsyncSession, *, zone: ZoneInfo, now: datetime | None = None) -> int:
    """What the orders changed lately touch: the work of an event lost in a crash."""
    since = (now or utcnow()) - SWEEP_BACK
    rows = await session.execute(
        select(Order.paid_at, Order.email).where(Order.updated_at >= since, Order.paid_at.is_not(None))
    )
    return await _touched(session, rows.tuples(), zone)


async def rebuild(
    session: AsyncSession, *, zone: ZoneInfo, since: datetime | None = None, until: datetime | None = None
) -> int:
    """Everything kept between `since` and `until` (default: all the orders there are) recomputed, a week at
    a time, and every buyer; the number of quarters written. Commits after each week."""
    first = await session.scalar(select(func.min(Order.paid_at)))
    if first is None:
        return 0
    start = quarter_of(since or first)
    end = until or utcnow() + QUARTER
    written = 0
    while start < end:
        stop = min(start + timedelta(days=BACKFILL_DAYS), end)
        sums = _sums(await _paid(session, start, stop))
        await _write_quarters(session, start, stop, sums)
        first_day, last_day = start.astimezone(zone).date(), (stop - QUARTER).astimezone(zone).date()
        await _days(
            session, [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)], zone
        )
        await session.commit()
        written += len(sums)
        start = stop
    await session.execute(delete(Buyer))
    await session.execute(
        insert_for(session)(Buyer).from_select(
            ["email", "first_paid_at"],
            select(Order.email, func.min(Order.paid_at))
            .where(Order.status.in_(COUNTED), Order.paid_at.is_not(None))
            .group_by(Order.email),
        )
    )
    await session.commit()
    return written


async def needs_rebuild(session: AsyncSession, zone: ZoneInfo) -> bool:
    """Orders were paid but nothing is kept for this time zone yet (a new install on an existing shop, or the
    shop's time zone changed)."""
    paid = await session.scalar(select(Order.id).where(Order.paid_at.is_not(None)).limit(1))
    if paid is None:
        return False
    quarters = await session.scalar(select(SalesQuarter.starts_at).limit(1))
    days = await session.scalar(select(ProductDay.day).where(ProductDay.zone == zone.key).limit(1))
    return quarters is None or days is None
