"""Keeping the kept figures true to the orders: sales and products per day of the shop's time zone, and
each buyer's first payment. Whatever an order's change touches (its day, its buyer) is recomputed from the
orders, by a job each order event queues and by a sweep of the orders changed lately (an event lost in a
crash). Recomputing is idempotent: a figure always ends equal to its orders, whoever recomputes it and
however often."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.orders import Order, OrderLine, OrderStatus
from engage.analytics.models import Buyer, BuyerDay, BuyerGap, ProductDay, SalesDay
from engage.platform.clock import as_utc, local_days, utcnow
from engage.platform.db import dialect_of, insert_for

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
NO_DAY = date(1, 1, 1)  # a buyer's previous paid day: none, or too long before to be in the same period
REACH = timedelta(days=366)  # the longest period asked for (analytics.service.MAX_DAYS)
_REBUILDING = 0x62757972  # pg advisory lock key of a buyer days rebuild ("buyr")


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return local_days(day, day, zone)


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


def paid_days(days: Iterable[date]) -> set[tuple[date, date]]:
    """Each paid day with the one before it (`NO_DAY` when there is none within `REACH`)."""
    pairs, before = set(), NO_DAY
    for day in sorted(set(days)):
        pairs.add((day, before if day - before <= REACH else NO_DAY))
        before = day
    return pairs


async def _lock_buyer(session: AsyncSession, email: str) -> None:
    """One recompute of a buyer's days at a time, none during a rebuild (SQLite serialises writers anyway)."""
    if dialect_of(session) == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": _REBUILDING})
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"buyer:{email}"})


async def _rebuild_buyer_days(session: AsyncSession, zone: ZoneInfo) -> None:
    """Every buyer's paid days and the gaps, from all the orders, in one transaction. Does not commit."""
    if dialect_of(session) == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _REBUILDING})
    await session.execute(delete(BuyerDay).where(BuyerDay.zone == zone.key))
    await session.execute(delete(BuyerGap).where(BuyerGap.zone == zone.key))
    gaps: Counter[tuple[date, date]] = Counter()
    rows: list[dict[str, object]] = []
    insert = insert_for(session)

    async def flush(email: str, days: list[date]) -> None:
        pairs = paid_days(days)
        gaps.update(pairs)
        rows.extend({"zone": zone.key, "email": email, "day": d, "prev_day": b} for d, b in pairs)
        if len(rows) >= 5000:
            await session.execute(insert(BuyerDay), rows)
            rows.clear()

    email, days = None, []
    paid = await session.stream(
        select(Order.email, Order.paid_at)
        .where(Order.status.in_(COUNTED), Order.paid_at.is_not(None))
        .order_by(Order.email)
        .execution_options(yield_per=5000)
    )
    async for buyer, at in paid:
        if buyer != email and email is not None:
            await flush(email, days)
            days = []
        email = buyer
        if at is not None:
            days.append(as_utc(at).astimezone(zone).date())
    if email is not None:
        await flush(email, days)
    if rows:
        await session.execute(insert(BuyerDay), rows)
    gap_rows = [
        {"zone": zone.key, "day": d, "prev_day": b, "buyers": n} for (d, b), n in sorted(gaps.items())
    ]
    for start in range(0, len(gap_rows), 5000):
        await session.execute(insert(BuyerGap), gap_rows[start : start + 5000])


async def _move_gaps(session: AsyncSession, zone: ZoneInfo, moves: Counter[tuple[date, date]]) -> None:
    """Add each move to its gap's count, in key order (concurrent recomputes take the rows in one order)."""
    insert = insert_for(session)
    for (day, before), n in sorted(moves.items()):
        if not n:
            continue
        statement = insert(BuyerGap).values(zone=zone.key, day=day, prev_day=before, buyers=n)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[BuyerGap.zone, BuyerGap.day, BuyerGap.prev_day],
                set_={"buyers": BuyerGap.buyers + statement.excluded.buyers},
            )
        )


async def _buyer_days(session: AsyncSession, emails: Iterable[str], zone: ZoneInfo) -> None:
    """These buyers' paid days become what their orders say, and the gaps move by the difference: every
    buyer locked first (email order), then every gap moved (key order), so concurrent recomputes never wait
    on each other in a circle."""
    moves: Counter[tuple[date, date]] = Counter()
    for email in sorted(set(emails)):
        await _lock_buyer(session, email)
        paid = await session.scalars(
            select(Order.paid_at).where(
                Order.email == email, Order.status.in_(COUNTED), Order.paid_at.is_not(None)
            )
        )
        now = paid_days(as_utc(at).astimezone(zone).date() for at in paid if at is not None)
        kept = {
            (day, before)
            for day, before in await session.execute(
                select(BuyerDay.day, BuyerDay.prev_day).where(
                    BuyerDay.zone == zone.key, BuyerDay.email == email
                )
            )
        }
        if now == kept:
            continue
        gone, added = kept - now, now - kept
        if gone:
            await session.execute(
                delete(BuyerDay).where(
                    BuyerDay.zone == zone.key,
                    BuyerDay.email == email,
                    BuyerDay.day.in_([day for day, _ in gone]),
                )
            )
        if added:
            await session.execute(
                insert_for(session)(BuyerDay).values(
                    [{"zone": zone.key, "email": email, "day": d, "prev_day": b} for d, b in sorted(added)]
                )
            )
        moves.update(added)
        moves.subtract(gone)
    await _move_gaps(session, zone, moves)


async def distinct_buyers(session: AsyncSession, start: date, end: date, zone: ZoneInfo) -> int:
    """Buyers who paid on any day of [start, end]: each counted on their first day in it."""
    found = await session.scalar(
        select(func.coalesce(func.sum(BuyerGap.buyers), 0)).where(
            BuyerGap.zone == zone.key,
            BuyerGap.day >= start,
            BuyerGap.day <= end,
            BuyerGap.prev_day < start,
        )
    )
    return int(found or 0)


async def forget_buyer(session: AsyncSession, emails: Sequence[str]) -> None:
    """After a buyer's orders were anonymised: their days go, the anonymised orders' are counted (every
    kept zone). Does not commit."""
    zones = (await session.scalars(select(BuyerDay.zone).distinct())).all()
    await _buyers(session, emails)
    for zone in zones:
        await _buyer_days(session, emails, ZoneInfo(zone))


async def _touched(session: AsyncSession, rows: Iterable[tuple[datetime | None, str]], zone: ZoneInfo) -> int:
    paid = [(as_utc(at), email) for at, email in rows if at is not None]
    done = await _days(session, [at.astimezone(zone).date() for at, _ in paid], zone)
    await _buyers(session, [email for _, email in paid])
    await _buyer_days(session, [email for _, email in paid], zone)
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
    await _rebuild_buyer_days(session, zone)
    await session.commit()
    return done


async def needs_rebuild(session: AsyncSession, zone: ZoneInfo) -> bool:
    """Orders were paid but nothing is kept for this time zone yet (a new install on an existing shop, or the
    shop's time zone changed)."""
    paid = await session.scalar(
        select(Order.id).where(Order.paid_at.is_not(None), Order.status.in_(COUNTED)).limit(1)
    )
    kept = await session.scalar(select(SalesDay.day).where(SalesDay.zone == zone.key).limit(1))
    buyers = await session.scalar(select(BuyerDay.day).where(BuyerDay.zone == zone.key).limit(1))
    return paid is not None and (kept is None or buyers is None)
