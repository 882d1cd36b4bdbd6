"""Sales figures for a period, in the shop's time zone: revenue (paid, net of refunds), orders, average order
value, refunds, by day, beside the previous period of the same length, and the top products."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from engage import chat
from engage.analytics import rollup
from engage.analytics.models import Buyer, ProductDay, SalesDay
from engage.platform.clock import local_days, utcnow
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
    """A period's buyers, by email."""

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


async def _days(session: AsyncSession, start: date, end: date, zone: ZoneInfo) -> tuple[list[Day], int]:
    """Each day of [start, end], and the period's refunds: kept days before today, today from its orders as
    they are now (the roll-up job may not have run for its latest ones)."""
    today = utcnow().astimezone(zone).date()
    kept = await session.execute(
        select(SalesDay.day, SalesDay.revenue_cents, SalesDay.orders, SalesDay.refunds_cents).where(
            SalesDay.zone == zone.key,
            SalesDay.day >= start,
            SalesDay.day <= min(end, today - timedelta(days=1)),
        )
    )
    found: dict[date, tuple[int, int]] = {}
    refunds = 0
    for day, revenue, orders, refunded in kept:
        found[day] = (revenue, orders)
        refunds += refunded
    days = [
        Day(d, *found.get(d, (0, 0)))
        for d in (start + timedelta(days=n) for n in range((end - start).days + 1))
    ]
    if start <= today <= end:
        orders, revenue, live_refunds = await rollup.sales_of(session, *rollup.day_bounds(today, zone))
        days[(today - start).days] = Day(today, revenue, orders)
        refunds += live_refunds
    return days, refunds


def _totals(orders: int, revenue: int, refunds: int) -> Totals:
    return Totals(revenue, orders, revenue // orders if orders else 0, refunds)


def _totals_of(days: list[Day], refunds: int) -> Totals:
    return _totals(sum(d.orders for d in days), sum(d.revenue_cents for d in days), refunds)


def check_period(start: date, end: date) -> None:
    if end < start:
        raise InvalidInput("`to` is before `from`", field="to")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(f"at most {MAX_DAYS} days at once", field="to")


async def customers(session: AsyncSession, start: date, end: date, *, timezone: str) -> Customers:
    """New: buyers whose first payment (kept in `buyers`) is in the period; returning: the period's other
    buyers, counted from the kept gaps between each buyer's paid days (emails are kept lower-case: checkout
    normalises them). Both follow the orders as the roll-up job does, moments after a payment."""
    check_period(start, end)
    zone = ZoneInfo(timezone)
    since, until = local_days(start, end, zone)
    new = await session.scalar(
        select(func.count())
        .select_from(Buyer)
        .where(Buyer.first_paid_at >= since, Buyer.first_paid_at < until)
    )
    buyers = await rollup.distinct_buyers(session, start, end, zone)
    new = int(new or 0)
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
    length = end - start + timedelta(days=1)
    days, refunds = await _days(session, start, end, zone)
    previous_days, previous_refunds = await _days(session, start - length, start - timedelta(days=1), zone)
    return Summary(
        start,
        end,
        timezone,
        currency.upper(),
        _totals_of(days, refunds),
        _totals_of(previous_days, previous_refunds),
        days,
        previous_days,
        await _top_products(session, start, end, zone, top),
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
    since, until = rollup.day_bounds(day, zone)
    support = await chat.support_figures(session, since, until, sla_seconds=1 << 30, now=until)
    totals = _totals(*await rollup.sales_of(session, since, until))
    return Today(day, currency.upper(), totals, support.conversations)


async def support(
    session: AsyncSession, start: date, end: date, *, timezone: str, sla_seconds: int
) -> chat.SupportFigures:
    check_period(start, end)
    since, until = local_days(start, end, ZoneInfo(timezone))
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
