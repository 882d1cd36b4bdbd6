"""Keeping the kept figures true to the orders: sales and products per day of the shop's time zone, and
each buyer's first payment. Whatever an order's change touches (its day, its buyer) is recomputed from the
orders, by a job each order event queues and by a sweep of the orders changed lately (an event lost in a
crash). Recomputing is idempotent: a figure always ends equal to its orders, whoever recomputes it and
however often."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.orders import Order, OrderLine, OrderStatus
from engage.analytics.models import Buyer, ProductDay, SalesDay
from engage.platform.clock import as_utc, utcnow
from engage.platform.db import insert_for

COUNTED = [
    OrderStatus.paid.value,
    OrderStatus.fulfilled.value,
    OrderStatus.shipped.value,
    OrderStatus.delivered.value,
    OrderStatus.refunded.value,
    OrderStatus.partially_refunded.value,
]
SWEEP_BACK = timedelta(minutes=20)  # the sweep looks at orders changed this long ago or later
# what a line kept is worth: its total for the units not returned
KEPT_UNITS = OrderLine.quantity - OrderLine.returned_quantity
KEPT_CENTS = OrderLine.line_total_cents * KEPT_UNITS / OrderLine.quantity


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return datetime.combine(day, time(), zone), datetime.combine(day + timedelta(days=1), time(), zone)


async def sales_of(session: AsyncSession, since: datetime, until: datetime) -> tuple[int, int, int]:
    """(orders, paid minus refunded, refunded) of the orders paid in [since, until), read from the orders."""
    orders, revenue, refunds = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Order.total_cents - Order.refunded_cents), 0),
                func.coalesce(func.sum(Order.refunded_cents), 0),
            ).where(Order.paid_at >= since, Order.paid_at < until, Order.status.in_(COUNTED))
        )
    ).one()
    return int(orders), int(revenue), int(refunds)


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


async def _days(session: AsyncSession, days: Iterable[date], zone: ZoneInfo) -> int:
    """These days' sales and products become what their orders say (a day with no order: no row)."""
    insert = insert_for(session)
    done = 0
    for day in sorted(set(days)):
        since, until = day_bounds(day, zone)
        await session.execute(delete(SalesDay).where(SalesDay.zone == zone.key, SalesDay.day == day))
        await session.execute(delete(ProductDay).where(ProductDay.zone == zone.key, ProductDay.day == day))
        orders, revenue, refunds = await sales_of(session, since, until)
        done += 1
        if not orders:
            continue
        values = {
            "orders": orders,
            "revenue_cents": revenue,
            "refunds_cents": refunds,
            "updated_at": utcnow(),
        }
        # a racing recompute of the same day wrote it meanwhile: both read the same orders, ours wins
        await session.execute(
            insert(SalesDay)
            .values(zone=zone.key, day=day, **values)
            .on_conflict_do_update(index_elements=[SalesDay.zone, SalesDay.day], set_=values)
        )
        rows = [
            {"zone": zone.key, "day": day, "product_handle": h, "name": n, "units": u, "revenue_cents": c}
            for h, n, u, c in await products_sold(session, since, until)
        ]
        if rows:
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
    return done


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


async def _touched(session: AsyncSession, rows: Iterable[tuple[datetime | None, str]], zone: ZoneInfo) -> int:
    paid = [(as_utc(at), email) for at, email in rows if at is not None]
    done = await _days(session, [at.astimezone(zone).date() for at, _ in paid], zone)
    await _buyers(session, [email for _, email in paid])
    await session.commit()
    return done


async def refresh_orders(session: AsyncSession, order_ids: Iterable[int], *, zone: ZoneInfo) -> int:
    """What these orders touch (a paid, refunded or cancelled order moves its day and its buyer); the number
    of days recomputed. Commits."""
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
    """Every day between `since` and `until` (default: all the orders there are) recomputed, committed a
    week at a time, then every buyer; the number of days."""
    first = await session.scalar(select(func.min(Order.paid_at)))
    if first is None:
        return 0
    day = as_utc(since or first).astimezone(zone).date()
    last = as_utc(until or utcnow()).astimezone(zone).date()
    done = 0
    while day <= last:
        week = [day + timedelta(days=n) for n in range(min(7, (last - day).days + 1))]
        done += await _days(session, week, zone)
        await session.commit()
        day = week[-1] + timedelta(days=1)
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
    return done


async def needs_rebuild(session: AsyncSession, zone: ZoneInfo) -> bool:
    """Orders were paid but nothing is kept for this time zone yet (a new install on an existing shop, or the
    shop's time zone changed)."""
    paid = await session.scalar(select(Order.id).where(Order.paid_at.is_not(None)).limit(1))
    kept = await session.scalar(select(SalesDay.day).where(SalesDay.zone == zone.key).limit(1))
    return paid is not None and kept is None
