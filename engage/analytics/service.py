"""Sales figures for a period, in the shop's time zone: revenue (paid, net of refunds), orders, average order
value, refunds, by day, beside the previous period of the same length, and the top products."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.orders import Order, OrderLine, OrderStatus
from engage import chat
from engage.platform.clock import as_utc, utcnow
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


class Customers(msgspec.Struct):
    new: int  # buyers whose first paid order is in the period
    returning: int  # buyers who had paid for an order before it


class Summary(msgspec.Struct):
    start: date
    end: date  # inclusive
    timezone: str
    currency: str
    totals: Totals
    previous: Totals  # the period of the same length just before
    days: list[Day]
    previous_days: list[Day]  # the previous period, day by day (its own dates)
    top_products: list[TopProduct]
    customers: Customers


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


def check_period(start: date, end: date) -> None:
    if end < start:
        raise InvalidInput("`to` is before `from`", field="to")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(f"at most {MAX_DAYS} days at once", field="to")


def _by_day(rows: list[tuple[datetime, int, int, str]], start: date, days: int, zone: ZoneInfo) -> list[Day]:
    by_day: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for paid_at, total, refunded, _ in rows:
        day = as_utc(paid_at).astimezone(zone).date()
        by_day[day][0] += total - refunded
        by_day[day][1] += 1
    return [
        Day(start + timedelta(days=n), *by_day.get(start + timedelta(days=n), [0, 0])) for n in range(days)
    ]


async def _customers(session: AsyncSession, since: datetime, until: datetime) -> Customers:
    buyer = func.lower(Order.email)
    in_period = (
        select(buyer.label("buyer"))
        .where(Order.paid_at >= since, Order.paid_at < until, Order.status.in_(COUNTED))
        .distinct()
        .subquery()
    )
    earlier = select(Order.id).where(
        func.lower(Order.email) == in_period.c.buyer, Order.paid_at < since, Order.paid_at.is_not(None)
    )
    rows = (
        await session.execute(
            select(func.count().filter(~earlier.exists()), func.count().filter(earlier.exists())).select_from(
                in_period
            )
        )
    ).one()
    return Customers(new=int(rows[0]), returning=int(rows[1]))


async def summary(session: AsyncSession, start: date, end: date, *, timezone: str, top: int = 10) -> Summary:
    check_period(start, end)
    zone = ZoneInfo(timezone)
    since, until = _bounds(start, end, zone)
    length = end - start + timedelta(days=1)
    before_since, before_until = _bounds(start - length, start - timedelta(days=1), zone)
    rows = await _orders(session, since, until)
    previous = await _orders(session, before_since, before_until)
    days = _by_day(rows, start, length.days, zone)
    previous_days = _by_day(previous, start - length, length.days, zone)
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
    return Summary(
        start,
        end,
        timezone,
        currency,
        _totals(rows),
        _totals(previous),
        days,
        previous_days,
        products,
        await _customers(session, since, until),
    )


class Today(msgspec.Struct):
    """The live tiles: today so far, in the shop's time zone."""

    date: date
    currency: str
    totals: Totals
    conversations: int


async def today(session: AsyncSession, *, timezone: str, currency: str, now: datetime | None = None) -> Today:
    zone = ZoneInfo(timezone)
    day = (now or utcnow()).astimezone(zone).date()
    since, until = _bounds(day, day, zone)
    rows = await _orders(session, since, until)
    support = await chat.support_figures(session, since, until, sla_seconds=1 << 30, now=until)
    return Today(day, rows[0][3].upper() if rows else currency.upper(), _totals(rows), support.conversations)


async def support(
    session: AsyncSession, start: date, end: date, *, timezone: str, sla_seconds: int
) -> chat.SupportFigures:
    check_period(start, end)
    since, until = _bounds(start, end, ZoneInfo(timezone))
    return await chat.support_figures(session, since, until, sla_seconds=sla_seconds, now=utcnow())


def days_csv(summary: Summary) -> str:
    """The sales chart's data: one row per day with the previous period's same day beside it."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date", "revenue", "orders", "previous_date", "previous_revenue", "previous_orders"])
    for day, before in zip(summary.days, summary.previous_days, strict=True):
        writer.writerow(
            [
                day.date,
                minor(day.revenue_cents),
                day.orders,
                before.date,
                minor(before.revenue_cents),
                before.orders,
            ]
        )
    return out.getvalue()


def products_csv(summary: Summary) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["product", "handle", "units", "revenue"])
    for p in summary.top_products:
        writer.writerow([p.name, p.handle, p.units, minor(p.revenue_cents)])
    return out.getvalue()


def minor(cents: int) -> str:
    """Minor units as a decimal text with two places, exact (no float)."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"
