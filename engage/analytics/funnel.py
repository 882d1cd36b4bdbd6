"""The funnel: visitors who opened a product page, added to the cart, started a checkout and paid, by day of
the shop's time zone, for a period beside the one before, with the conversion at each step; and each flash
sale's own funnel (claims, holds that ran out, claims paid, sell-through).

A visitor is an owner key (a signed-in shopper, or a guest's session), counted once per step and day: a
period's figures are visits (a visitor of two days counts twice). Product views and cart additions are
marked from their events (`product.viewed`, `cart.item_added`); checkouts and payments are read from their
own tables. Days before today are kept in `funnel_days` by a job; today is counted as it is now.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import delete, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.cart.events import CartItemAdded
from commerce.catalog.events import ProductViewed
from commerce.checkout.models import Checkout
from commerce.orders import Order
from engage.analytics.models import FunnelDay, FunnelMark
from engage.analytics.rollup import day_bounds
from engage.analytics.service import MAX_DAYS, check_period
from engage.flash_sales.models import ClaimStatus, FlashClaim, FlashSale, FlashSaleItem, SaleStatus
from engage.platform.clock import as_utc, from_epoch_ms, local_days, utcnow
from engage.platform.db import insert_for
from engage.platform.events import DomainEvent

STEPS = ("views", "carts", "checkouts", "paid")
LABELS = {
    "views": "Viewed a product",
    "carts": "Added to cart",
    "checkouts": "Started checkout",
    "paid": "Paid",
}
VIEW, CART = "view", "cart"  # the steps marked from events (the others have their own tables)
MARK_RETENTION = timedelta(days=2 * MAX_DAYS + 30)  # a year beside the year before, and some
LATE = timedelta(minutes=10)  # a kept day is counted again until this long after its end (late marks)
DAYS_PER_RUN = 400  # a first build over a long history goes on at the next run


class Mark(NamedTuple):
    step: str  # VIEW or CART
    visitor: str
    at: datetime


class Counts(msgspec.Struct):
    date: date
    views: int = 0
    carts: int = 0
    checkouts: int = 0
    paid: int = 0


class Step(msgspec.Struct):
    step: str
    label: str
    visits: int
    from_previous: float  # share of the step before (1.0 for the first)
    from_first: float  # share of product views


class Funnel(msgspec.Struct):
    start: date
    end: date  # inclusive
    timezone: str
    steps: list[Step]
    previous: list[Step]  # the period of the same length just before
    days: list[Counts]


class SaleFunnel(msgspec.Struct):
    sale_id: int
    name: str
    starts_at: datetime
    ends_at: datetime
    status: str
    units_allotted: int
    claims: int  # every claim that got a unit
    held: int  # waiting for checkout now
    paid: int  # claims that became part of a paid order
    released: int  # holds that ran out or whose checkout failed: the unit went back on sale
    units_paid: int
    sell_through: float  # units paid of the units allotted
    claim_to_order: float  # claims paid of the claims made


_MARKED = {ProductViewed.type: VIEW, CartItemAdded.type: CART}


def marks_of(events: Iterable[DomainEvent]) -> list[Mark]:
    """The funnel steps these committed events reached (product views, cart additions)."""
    return [
        Mark(_MARKED[e.type], str(e.data["visitor"]), from_epoch_ms(e.ts))
        for e in events
        if e.type in _MARKED
    ]


async def mark(session: AsyncSession, marks: Sequence[Mark], *, zone: ZoneInfo) -> None:
    """Keep each visitor's first mark of a step on a day (again is nothing). Commits."""
    first: dict[tuple[date, str, str], datetime] = {}
    for step, visitor, at in marks:
        key = (as_utc(at).astimezone(zone).date(), step, visitor[:80])
        first[key] = min(first.get(key, at), at)
    if not first:
        return
    rows = [{"day": d, "step": s, "visitor": v, "at": at} for (d, s, v), at in sorted(first.items())]
    await session.execute(insert_for(session)(FunnelMark).values(rows).on_conflict_do_nothing())
    await session.commit()


async def counted(session: AsyncSession, day: date, zone: ZoneInfo) -> Counts:
    """A day's visitors at each step, as the marks, checkouts and orders say now."""
    since, until = day_bounds(day, zone)
    marked = dict(
        (
            await session.execute(
                select(FunnelMark.step, func.count(distinct(FunnelMark.visitor)))
                .where(FunnelMark.step.in_([VIEW, CART]), FunnelMark.at >= since, FunnelMark.at < until)
                .group_by(FunnelMark.step)
            )
        )
        .tuples()
        .all()
    )
    checkouts = await session.scalar(
        select(func.count(distinct(Checkout.owner_key))).where(
            Checkout.created_at >= since, Checkout.created_at < until
        )
    )
    paid = await session.scalar(
        select(func.count(distinct(Order.owner_key))).where(Order.paid_at >= since, Order.paid_at < until)
    )
    return Counts(day, marked.get(VIEW, 0), marked.get(CART, 0), int(checkouts or 0), int(paid or 0))


async def _next_active_day(
    session: AsyncSession, zone: ZoneInfo, since: datetime | None = None
) -> date | None:
    """The first day at or after `since` (the beginning when None) with a mark, a checkout or a payment."""
    firsts = [
        await session.scalar(select(func.min(at)).where(at >= since) if since else select(func.min(at)))
        for at in (FunnelMark.at, Checkout.created_at, Order.paid_at)
    ]
    found = [as_utc(at) for at in firsts if at is not None]
    return min(found).astimezone(zone).date() if found else None


async def _keep_day(session: AsyncSession, day: date, zone: ZoneInfo, now: datetime) -> Counts:
    counts = await counted(session, day, zone)
    values = {step: getattr(counts, step) for step in STEPS} | {"updated_at": now}
    await session.execute(
        insert_for(session)(FunnelDay)
        .values(zone=zone.key, day=day, **values)
        .on_conflict_do_update(index_elements=[FunnelDay.zone, FunnelDay.day], set_=values)
    )
    return counts


async def recount(session: AsyncSession, days: Sequence[date], *, zone: ZoneInfo) -> None:
    """These days kept again from what the marks, checkouts and orders say now. Commits."""
    for day in sorted(set(days)):
        await _keep_day(session, day, zone, utcnow())
    await session.commit()


async def keep(session: AsyncSession, *, zone: ZoneInfo, now: datetime | None = None) -> int:
    """Keep the days before today that are not kept yet (the last kept one again while marks may still come
    late), skipping stretches with nothing, and forget marks past their retention; the number of days
    counted. Commits."""
    now = now or utcnow()
    today = now.astimezone(zone).date()
    last = (
        await session.execute(
            select(FunnelDay.day, FunnelDay.updated_at)
            .where(FunnelDay.zone == zone.key)
            .order_by(FunnelDay.day.desc())
            .limit(1)
        )
    ).first()
    if last is None:
        day = await _next_active_day(session, zone)
    else:
        settled = as_utc(last.updated_at) >= day_bounds(last.day, zone)[1] + LATE
        day = last.day + timedelta(days=1) if settled else last.day
    done = 0
    while day is not None and day < today and done < DAYS_PER_RUN:
        counts = await _keep_day(session, day, zone, now)
        done += 1
        if done % 7 == 0:
            await session.commit()
        if any(getattr(counts, step) for step in STEPS):
            day += timedelta(days=1)
        else:  # on to the next day with anything, or to yesterday, which marks how far the days are kept
            after = await _next_active_day(session, zone, day_bounds(day, zone)[1])
            yesterday = today - timedelta(days=1)
            day = after if after is not None and after < today else max(yesterday, day + timedelta(days=1))
    await session.execute(  # by (step, at): the index, not a scan of every mark
        delete(FunnelMark).where(FunnelMark.step.in_([VIEW, CART]), FunnelMark.at < now - MARK_RETENTION)
    )
    await session.commit()
    return done


async def _days(session: AsyncSession, start: date, end: date, zone: ZoneInfo) -> list[Counts]:
    today = utcnow().astimezone(zone).date()
    kept = {
        row.day: Counts(row.day, row.views, row.carts, row.checkouts, row.paid)
        for row in await session.scalars(
            select(FunnelDay).where(
                FunnelDay.zone == zone.key,
                FunnelDay.day >= start,
                FunnelDay.day <= min(end, today - timedelta(days=1)),
            )
        )
    }
    days = [
        kept.get(d, Counts(d)) for d in (start + timedelta(days=n) for n in range((end - start).days + 1))
    ]
    if start <= today <= end:
        days[(today - start).days] = await counted(session, today, zone)
    return days


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _steps(days: list[Counts]) -> list[Step]:
    totals = [sum(getattr(d, step) for d in days) for step in STEPS]
    return [
        Step(
            step,
            LABELS[step],
            visits,
            _rate(visits, totals[i - 1]) if i else 1.0,
            _rate(visits, totals[0]),
        )
        for i, (step, visits) in enumerate(zip(STEPS, totals, strict=True))
    ]


async def summary(session: AsyncSession, start: date, end: date, *, timezone: str) -> Funnel:
    check_period(start, end)
    zone = ZoneInfo(timezone)
    length = end - start + timedelta(days=1)
    days = await _days(session, start, end, zone)
    previous = await _days(session, start - length, start - timedelta(days=1), zone)
    return Funnel(start, end, timezone, _steps(days), _steps(previous), days)


def days_csv(funnel: Funnel) -> str:
    """The funnel's data: a row per day, visitors at each step."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date", *STEPS])
    for day in funnel.days:
        writer.writerow([day.date, *(getattr(day, step) for step in STEPS)])
    return out.getvalue()


async def flash_sales(session: AsyncSession, start: date, end: date, *, timezone: str) -> list[SaleFunnel]:
    """The published sales (cancelled ones included) that ran in the period, latest first."""
    check_period(start, end)
    zone = ZoneInfo(timezone)
    since, until = local_days(start, end, zone)
    sales = (
        await session.execute(
            select(
                FlashSale.id,
                FlashSale.name,
                FlashSale.starts_at,
                FlashSale.ends_at,
                FlashSale.status,
                func.coalesce(func.sum(FlashSaleItem.units_allotted), 0),
                func.coalesce(func.sum(FlashSaleItem.units_paid), 0),
            )
            .outerjoin(FlashSaleItem, FlashSaleItem.sale_id == FlashSale.id)
            .where(
                FlashSale.status != SaleStatus.draft.value,
                FlashSale.starts_at < until,
                FlashSale.ends_at >= since,
            )
            .group_by(FlashSale.id)
            .order_by(FlashSale.starts_at.desc(), FlashSale.id.desc())
            .limit(100)
        )
    ).all()
    claims: dict[tuple[int, str], int] = {
        (sale_id, status): n
        for sale_id, status, n in await session.execute(
            select(FlashClaim.sale_id, FlashClaim.status, func.count())
            .where(FlashClaim.sale_id.in_([s.id for s in sales]))
            .group_by(FlashClaim.sale_id, FlashClaim.status)
        )
    }
    found = []
    for sale_id, name, starts_at, ends_at, status, allotted, units_paid in sales:
        held, paid, released = (
            claims.get((sale_id, s.value), 0)
            for s in (ClaimStatus.held, ClaimStatus.paid, ClaimStatus.released)
        )
        made = held + paid + released
        found.append(
            SaleFunnel(
                sale_id,
                name,
                as_utc(starts_at),
                as_utc(ends_at),
                status,
                int(allotted),
                made,
                held,
                paid,
                released,
                int(units_paid),
                _rate(int(units_paid), int(allotted)),
                _rate(paid, made),
            )
        )
    return found
