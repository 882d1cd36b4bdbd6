"""Sales figures for a period, in the shop's time zone: revenue (paid, net of refunds), orders, average order
value, refunds, by day, beside the previous period of the same length, and the top products."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.orders import Order
from engage import chat
from engage.analytics import rollup
from engage.analytics.models import Buyer, ProductDay, SalesQuarter
from engage.platform.clock import as_utc, utcnow
from engage.platform.errors import InvalidInput

COUNTED = rollup.COUNTED
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
    """Apart from the summary: counting a period's distinct buyers reads each of its orders (from the index
    alone on PostgreSQL), the one figure that grows with the period's orders."""

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


def _bounds(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return datetime.combine(start, time(), zone), datetime.combine(end + timedelta(days=1), time(), zone)


Sale = tuple[datetime, int, int, int]  # (when, orders, paid minus refunded, refunded)


async def _sales(session: AsyncSession, since: datetime, until: datetime) -> list[Sale]:
    """The period's sales: kept quarters, and the orders of the last half hour read as they are now (the
    roll-up job may not have run for them yet)."""
    fresh = rollup.quarter_of(utcnow()) - rollup.QUARTER
    kept = await session.execute(
        select(
            SalesQuarter.starts_at,
            SalesQuarter.orders,
            SalesQuarter.revenue_cents,
            SalesQuarter.refunds_cents,
        )
        .where(SalesQuarter.starts_at >= since, SalesQuarter.starts_at < min(until, fresh))
        .order_by(SalesQuarter.starts_at)
    )
    sales: list[Sale] = [(as_utc(at), n, revenue, refunds) for at, n, revenue, refunds in kept]
    if until > fresh:
        live = await session.execute(
            select(Order.paid_at, Order.total_cents, Order.refunded_cents).where(
                Order.paid_at >= max(since, fresh), Order.paid_at < until, Order.status.in_(COUNTED)
            )
        )
        sales += [(as_utc(paid), 1, total - refunded, refunded) for paid, total, refunded in live if paid]
    return sales


def _totals(sales: list[Sale]) -> Totals:
    orders = sum(n for _, n, _, _ in sales)
    revenue = sum(revenue for _, _, revenue, _ in sales)
    refunds = sum(refunds for _, _, _, refunds in sales)
    return Totals(revenue, orders, revenue // orders if orders else 0, refunds)


def check_period(start: date, end: date) -> None:
    if end < start:
        raise InvalidInput("`to` is before `from`", field="to")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(f"at most {MAX_DAYS} days at once", field="to")


def _by_day(sales: list[Sale], start: date, days: int, zone: ZoneInfo) -> list[Day]:
    by_day: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for at, orders, revenue, _ in sales:
        day = at.astimezone(zone).date()
        by_day[day][0] += revenue
        by_day[day][1] += orders
    return [
        Day(start + timedelta(days=n), *by_day.get(start + timedelta(days=n), [0, 0])) for n in range(days)
    ]


async def customers(session: AsyncSession, start: date, end: date, *, timezone: str) -> Customers:
    check_period(start, end)
    return await _customers(session, *_bounds(start, end, ZoneInfo(timezone)))


async def _customers(session: AsyncSession, since: datetime, until: datetime) -> Customers:
    """New: buyers whose first payment (kept in `buyers`) is in the period; returning: the period's other
    buyers (emails are kept lower-case: checkout normalises them)."""
    new = await session.scalar(
        select(func.count())
        .select_from(Buyer)
        .where(Buyer.first_paid_at >= since, Buyer.first_paid_at < until)
    )
    period = (
        select(Order.email)
        .where(Order.paid_at >= since, Order.paid_at < until, Order.status.in_(COUNTED))
        .group_by(Order.email)  # hashed, where count(DISTINCT) sorts
        .subquery()
    )
    buyers = await session.scalar(select(func.count()).select_from(period))
    new, buyers = int(new or 0), int(buyers or 0)
    return Customers(new=min(new, buyers), returning=max(buyers - new, 0))


async def _top_products(
    session: AsyncSession, start: date, end: date, zone: ZoneInfo, top: int
) -> list[TopProduct]:
    """Days before today from the kept product days, today from its orders as they are now."""
    today = utcnow().astimezone(zone).date()
    sums: dict[str, list[Any]] = {}
    if start < today:
        kept = await session.execute(
            select(
                ProductDay.product_handle,
                func.max(ProductDay.name),
                func.sum(ProductDay.units),
                func.sum(ProductDay.revenue_cents),
            )
            .where(
                ProductDay.zone == zone.key,
                ProductDay.day >= start,
                ProductDay.day <= min(end, today - timedelta(days=1)),
            )
            .group_by(ProductDay.product_handle)
        )
        for handle, name, units, cents in kept:
            sums[handle] = [name, int(units or 0), int(cents or 0)]
    if end >= today >= start:
        for handle, name, units, cents in await rollup.products_sold(
            session, *rollup.day_bounds(today, zone)
        ):
            seen = sums.setdefault(handle, [name, 0, 0])
            seen[1] += units
            seen[2] += cents
    ranked = sorted(sums.items(), key=lambda item: (-item[1][2], item[0]))[:top]
    return [TopProduct(name, handle, units, cents) for handle, (name, units, cents) in ranked]


async def summary(
    session: AsyncSession, start: date, end: date, *, timezone: str, currency: str, top: int = 10
) -> Summary:
    check_period(start, end)
    zone = ZoneInfo(timezone)
    since, until = _bounds(start, end, zone)
    length = end - start + timedelta(days=1)
    before_since, before_until = _bounds(start - length, start - timedelta(days=1), zone)
    rows = await _sales(session, since, until)
    previous = await _sales(session, before_since, before_until)
    days = _by_day(rows, start, length.days, zone)
    previous_days = _by_day(previous, start - length, length.days, zone)
    products = await _top_products(session, start, end, zone, top)
    return Summary(
        start,
        end,
        timezone,
        currency.upper(),
        _totals(rows),
        _totals(previous),
        days,
        previous_days,
        products,
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
    rows = await _sales(session, since, until)
    support = await chat.support_figures(session, since, until, sla_seconds=1 << 30, now=until)
    return Today(day, currency.upper(), _totals(rows), support.conversations)


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
