"""Sales figures for a period, in the shop's time zone: revenue (paid, net of refunds), orders, average order
value, refunds, by day, beside the previous period of the same length, and the top products."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.orders import Order, OrderLine, OrderStatus
from engage.platform.errors import InvalidInput

COUNTED = [
    OrderStatus.paid.value,
    OrderStatus.fulfilled.value,
    OrderStatus.shipped.value,
    OrderStatus.delivered.value,
    OrderStatus.refunded.value,
    OrderStatus.partially_refunded.value,
]
MAX_DAYS = 366


class Day(msgspec.Struct):
    date: date
    revenue_cents: int
    orders: int


class Totals(msgspec.Struct):
    revenue_cents: int  # what was paid, minus what was refunded
    orders: int
    average_order_cents: int
    refunds_cents: int


class TopProduct(msgspec.Struct):
    name: str
    handle: str
    units: int
    revenue_cents: int


class Summary(msgspec.Struct):
    start: date
    end: date  # inclusive
    timezone: str
    currency: str
    totals: Totals
    previous: Totals  # the period of the same length just before
    days: list[Day]
    top_products: list[TopProduct]


def _bounds(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return datetime.combine(start, time(), zone), datetime.combine(end + timedelta(days=1), time(), zone)


async def _orders(
    session: AsyncSession, since: datetime, until: datetime
) -> list[tuple[datetime, int, int, str]]:
    rows = await session.execute(
        select(Order.paid_at, Order.total_cents, Order.refunded_cents, Order.currency).where(
            Order.paid_at >= since, Order.paid_at < until, Order.status.in_(COUNTED)
        )
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows if r[0] is not None]


def _totals(rows: list[tuple[datetime, int, int, str]]) -> Totals:
    revenue = sum(total - refunded for _, total, refunded, _ in rows)
    refunds = sum(refunded for _, _, refunded, _ in rows)
    return Totals(revenue, len(rows), revenue // len(rows) if rows else 0, refunds)


async def summary(session: AsyncSession, start: date, end: date, *, timezone: str, top: int = 10) -> Summary:
    if end < start:
        raise InvalidInput("`to` is before `from`", field="to")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(f"at most {MAX_DAYS} days at once", field="to")
    zone = ZoneInfo(timezone)
    since, until = _bounds(start, end, zone)
    length = end - start + timedelta(days=1)
    before_since, before_until = _bounds(start - length, start - timedelta(days=1), zone)
    rows = await _orders(session, since, until)
    previous = await _orders(session, before_since, before_until)
    by_day: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for paid_at, total, refunded, _ in rows:
        day = paid_at.astimezone(zone).date()
        by_day[day][0] += total - refunded
        by_day[day][1] += 1
    days = [
        Day(start + timedelta(days=n), *by_day.get(start + timedelta(days=n), [0, 0]))
        for n in range(length.days)
    ]
    kept = (
        OrderLine.line_total_cents * (OrderLine.quantity - OrderLine.returned_quantity) / OrderLine.quantity
    )
    top_rows = await session.execute(
        select(
            OrderLine.name,
            OrderLine.product_handle,
            func.sum(OrderLine.quantity - OrderLine.returned_quantity),
            func.sum(kept),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.paid_at >= since, Order.paid_at < until, Order.status.in_(COUNTED))
        .group_by(OrderLine.name, OrderLine.product_handle)
        .order_by(func.sum(kept).desc())
        .limit(top)
    )
    products = [TopProduct(r[0], r[1], int(r[2] or 0), int(r[3] or 0)) for r in top_rows]
    currency = rows[0][3].upper() if rows else "USD"
    return Summary(start, end, timezone, currency, _totals(rows), _totals(previous), days, products)
