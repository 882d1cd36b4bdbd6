"""The sales summary: revenue net of refunds, orders, average, by day in the shop's time zone, the previous
period, top products; empty periods; only marketers and admins."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from commerce.orders import Order
from engage.analytics import rollup, service
from engage.analytics.models import SalesDay
from engage.platform.clock import utcnow
from engage.platform.identity import Role
from tests.commerce.conftest import Shopper, make_product
from tests.conftest import AppClient

UTC_ZONE = ZoneInfo("UTC")


async def _summary(session, start: date, end: date, zone: str) -> service.Summary:
    return await service.summary(session, start, end, timezone=zone, currency="usd")


async def _bought(client: AppClient, account, price: int, quantity: int = 1) -> str:
    shopper = Shopper(client, account.headers)
    async with client.app.state.runtime.sessionmaker() as s:
        product = await make_product(s, stock=10, price=price)
    await shopper.add(product.variants[0].id, quantity)
    checkout = await shopper.checkout(email=account.email)
    return (await shopper.pay(checkout["id"])).json()["order_number"]


async def test_a_past_period_to_the_cent_and_across_a_time_zone(client: AppClient, make_account) -> None:
    buyer, admin = await make_account(Role.customer), await make_account(Role.admin)
    first, second = await _bought(client, buyer, 3000, 2), await _bought(client, buyer, 1000)
    refund = await client.post(
        f"/api/staff/orders/{first}/refund", json={"amount_cents": 500}, headers=admin.headers
    )
    assert refund.status_code == 200
    async with client.app.state.runtime.sessionmaker() as s:  # move them to a quiet day of the past
        await s.execute(
            update(Order)
            .where(Order.number == first)
            .values(paid_at=datetime(2001, 3, 10, 3, 30, tzinfo=UTC))
        )
        await s.execute(
            update(Order)
            .where(Order.number == second)
            .values(paid_at=datetime(2001, 3, 10, 12, 0, tzinfo=UTC))
        )
        await s.commit()
        # moved behind the services' back: the kept days are rebuilt as a new install's first start does
        for zone in (UTC_ZONE, ZoneInfo("America/New_York")):  # a shop in each zone keeps its own days
            await rollup.rebuild(
                s, zone=zone, since=datetime(2001, 1, 1, tzinfo=UTC), until=datetime(2001, 4, 1, tzinfo=UTC)
            )
        utc = await _summary(s, date(2001, 3, 10), date(2001, 3, 10), "UTC")
        new_york = await _summary(s, date(2001, 3, 9), date(2001, 3, 10), "America/New_York")
        empty = await _summary(s, date(2001, 1, 1), date(2001, 1, 31), "UTC")
    assert utc.totals.orders == 2 and utc.totals.refunds_cents == 500
    # goods 7000, plus shipping and tax, minus the 500 refunded
    assert utc.totals.revenue_cents >= 7000 - 500 and utc.totals.revenue_cents == utc.days[0].revenue_cents
    assert utc.totals.average_order_cents == utc.totals.revenue_cents // 2
    # 03:30 UTC on the 10th is the evening of the 9th in New York; noon UTC is the morning of the 10th
    assert [(d.date.day, d.orders) for d in new_york.days] == [(9, 1), (10, 1)]
    assert empty.totals == service.Totals(0, 0, 0, 0) and len(empty.days) == 31
    assert [p.units for p in utc.top_products][:1] == [2]


async def test_today_moves_with_an_order_and_only_marketers_and_admins_see_it(
    client: AppClient, make_account
) -> None:
    buyer, marketer, agent = (
        await make_account(Role.customer),
        await make_account(Role.marketer),
        await make_account(Role.agent),
    )
    today = datetime.now(UTC).date().isoformat()
    path = f"/api/admin/analytics/summary?from={today}&to={today}"
    before = (await client.get(path, headers=marketer.headers)).json()
    await _bought(client, buyer, 2000)
    after = (await client.get(path, headers=marketer.headers)).json()
    assert after["totals"]["orders"] == before["totals"]["orders"] + 1
    assert after["totals"]["revenue_cents"] > before["totals"]["revenue_cents"] + 1999
    assert after["previous"] == before["previous"] and after["currency"] == "USD"  # yesterday stays
    for who in (buyer, agent):
        assert (await client.get(path, headers=who.headers)).status_code == 403
    assert (await client.get(path)).status_code == 401
    wrong = await client.get(
        f"/api/admin/analytics/summary?from={today}&to=2000-01-01", headers=marketer.headers
    )
    assert wrong.status_code == 422


@pytest.mark.parametrize("db", ["postgres", "sqlite"])
async def test_the_kept_quarters_follow_refunds_and_a_lost_event_and_equal_the_orders(
    db: str, client: AppClient, sqlite_client: AppClient, make_account, sqlite_make_account
) -> None:
    app_client, make = (client, make_account) if db == "postgres" else (sqlite_client, sqlite_make_account)
    buyer, admin = await make(Role.customer), await make(Role.admin)
    numbers = [await _bought(app_client, buyer, 1500) for _ in range(3)]
    past = datetime(2004, 2, 29, 23, 50, tzinfo=UTC)  # two days: one order on the 29th, two on March 1st
    runtime = app_client.app.state.runtime
    async with runtime.sessionmaker() as s:
        for n, number in enumerate(numbers):
            moved = past + timedelta(minutes=10 * n)
            await s.execute(
                update(Order).where(Order.number == number).values(paid_at=moved, updated_at=moved)
            )
        await s.commit()
        assert (
            await rollup.rebuild(
                s,
                zone=UTC_ZONE,
                since=datetime(2004, 2, 1, tzinfo=UTC),
                until=datetime(2004, 3, 31, tzinfo=UTC),
            )
            == 60  # every day of February (a leap year) and March
        )
        before = await _summary(s, date(2004, 2, 29), date(2004, 3, 1), "UTC")
    assert [d.orders for d in before.days] == [1, 2]
    res = await app_client.post(
        f"/api/staff/orders/{numbers[1]}/refund", json={"amount_cents": 300}, headers=admin.headers
    )
    assert res.status_code == 200, res.text
    async with runtime.sessionmaker() as s:
        # the job the order event queues (a worker runs it in production; here, by hand)
        assert (
            await rollup.refresh_orders(
                s, [(await s.scalar(select(Order.id).where(Order.number == numbers[1])))], zone=UTC_ZONE
            )
            == 1
        )
        after = await _summary(s, date(2004, 2, 29), date(2004, 3, 1), "UTC")
        assert (
            after.totals.revenue_cents == before.totals.revenue_cents - 300
            and after.totals.refunds_cents == 300
        )
        # an event lost: the order changed, nobody queued its day; the sweep finds it by `updated_at`
        await s.execute(
            update(Order).where(Order.number == numbers[2]).values(refunded_cents=100, updated_at=utcnow())
        )
        await s.commit()
        assert await rollup.sweep(s, zone=UTC_ZONE) >= 1
        swept = await _summary(s, date(2004, 2, 29), date(2004, 3, 1), "UTC")
        kept = (
            await s.execute(
                select(func.sum(SalesDay.orders), func.sum(SalesDay.revenue_cents)).where(
                    SalesDay.zone == "UTC",
                    SalesDay.day >= date(2004, 2, 29),
                    SalesDay.day <= date(2004, 3, 1),
                )
            )
        ).one()
        direct = (
            await s.execute(
                select(func.count(), func.sum(Order.total_cents - Order.refunded_cents)).where(
                    Order.number.in_(numbers)
                )
            )
        ).one()
    assert swept.totals.refunds_cents == 400 and tuple(kept) == tuple(direct) == (
        3,
        swept.totals.revenue_cents,
    )


@pytest.mark.parametrize("db", ["postgres", "sqlite"])
async def test_a_periods_distinct_buyers_from_the_kept_gaps_equal_a_count_of_its_orders(
    db: str, client: AppClient, sqlite_client: AppClient, make_account, sqlite_make_account
) -> None:
    app_client, make = (client, make_account) if db == "postgres" else (sqlite_client, sqlite_make_account)
    runtime = app_client.app.state.runtime
    a, b, c = await make(Role.customer), await make(Role.customer), await make(Role.customer)
    first = date(1998, 1, 5)
    plan = [(a, 0), (a, 2), (a, 400), (b, 1), (b, 1), (c, 2), (c, 370)]  # days after `first`
    numbers = [await _bought(app_client, who, 1000) for who, _ in plan]

    async def counted_from_orders(s, start: date, end: date) -> int:
        since, until = rollup.day_bounds(start, UTC_ZONE)[0], rollup.day_bounds(end, UTC_ZONE)[1]
        emails = select(Order.email).where(
            Order.paid_at >= since, Order.paid_at < until, Order.status.in_(service.COUNTED)
        )
        return int(await s.scalar(select(func.count()).select_from(emails.distinct().subquery())) or 0)

    periods = [(0, 0), (0, 1), (1, 2), (2, 2), (3, 368), (0, 365), (35, 400), (370, 400), (401, 500)]

    async def check(s) -> None:
        for lo, hi in periods:
            start, end = first + timedelta(days=lo), first + timedelta(days=hi)
            found = await service.customers(s, start, end, timezone="UTC")
            assert found.new + found.returning == await counted_from_orders(s, start, end), (lo, hi)

    async with runtime.sessionmaker() as s:
        ids = []
        for number, (_, offset) in zip(numbers, plan, strict=True):
            at = datetime.combine(first + timedelta(days=offset), datetime.min.time(), UTC) + timedelta(
                hours=9
            )
            await s.execute(update(Order).where(Order.number == number).values(paid_at=at, updated_at=at))
            ids.append(await s.scalar(select(Order.id).where(Order.number == number)))
        await s.commit()
        await rollup.refresh_orders(s, ids, zone=UTC_ZONE)  # the job each order event queues
        await check(s)
        moved = await service.customers(s, first, first + timedelta(days=2), timezone="UTC")
        assert (moved.new, moved.returning) == (3, 0)
        later = await service.customers(
            s, first + timedelta(days=370), first + timedelta(days=400), timezone="UTC"
        )
        assert (later.new, later.returning) == (0, 2)
        await rollup.rebuild(
            s, zone=UTC_ZONE, since=datetime(1998, 1, 1, tzinfo=UTC), until=datetime(1998, 1, 2, tzinfo=UTC)
        )
        await check(s)  # a rebuild keeps the same


async def test_concurrent_roll_ups_of_shared_buyers_and_days_end_equal_to_the_orders(
    client: AppClient, make_account
) -> None:
    import asyncio
    import random

    runtime = client.app.state.runtime
    buyers = [await make_account(Role.customer) for _ in range(4)]
    numbers = [await _bought(client, buyers[n % 4], 1000) for n in range(12)]
    first = date(1997, 3, 3)
    async with runtime.sessionmaker() as s:
        ids = []
        for n, number in enumerate(numbers):  # buyers share days, each buyer on several days
            at = datetime.combine(first + timedelta(days=n % 3), datetime.min.time(), UTC)
            await s.execute(update(Order).where(Order.number == number).values(paid_at=at, updated_at=at))
            ids.append(await s.scalar(select(Order.id).where(Order.number == number)))
        await s.commit()

    async def roll_up(some: list[int]) -> None:
        async with runtime.sessionmaker() as s:
            await rollup.refresh_orders(s, some, zone=UTC_ZONE)

    rng = random.Random(7)
    await asyncio.gather(*(roll_up(rng.sample(ids, 6)) for _ in range(8)))
    async with runtime.sessionmaker() as s:
        found = await service.customers(s, first, first + timedelta(days=2), timezone="UTC")
    assert found.new + found.returning == 4
