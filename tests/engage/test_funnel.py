"""The funnel: visitors who viewed a product, added to the cart, started a checkout and paid, once per step
and day of the shop's time zone; kept days; each flash sale's claims; only marketers and admins."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from commerce.checkout.models import Checkout
from commerce.orders import Order
from engage.analytics import funnel
from engage.analytics.models import FunnelDay, FunnelMark
from engage.platform.identity import Role
from tests.commerce.conftest import Shopper, make_product
from tests.conftest import AppClient

NEW_YORK = ZoneInfo("America/New_York")


def _visits(body: dict) -> dict[str, int]:
    return {s["step"]: s["visits"] for s in body["steps"]}


async def _walk(app_client: AppClient, buyer) -> tuple[str, str]:
    """A guest looks twice and leaves, another adds to the cart, `buyer` goes all the way; the buyer's
    owner key and the order's number."""
    async with app_client.app.state.runtime.sessionmaker() as s:
        product = await make_product(s, stock=10, price=1200)
    page = f"/products/{product.handle}"
    looker, adder = await Shopper.guest(app_client.app), await Shopper.guest(app_client.app)
    for _ in range(2):
        assert (await looker.request("GET", page)).status_code == 200
    assert (await adder.request("GET", page)).status_code == 200
    assert (await adder.add(product.variants[0].id)).status_code == 200
    shopper = Shopper(app_client, buyer.headers)
    assert (await shopper.request("GET", page)).status_code == 200
    await shopper.add(product.variants[0].id)
    await shopper.add(product.variants[0].id)  # more of it: still one visitor at the step
    checkout = await shopper.checkout(email=buyer.email)
    paid = await shopper.pay(checkout["id"])
    assert paid.status_code == 200, paid.text
    for guest in (looker, adder):
        await guest.aclose()
    await app_client.app.state.runtime.publisher.drain()
    return f"user:{buyer.id}", paid.json()["order_number"]


@pytest.mark.parametrize("db", ["postgres", "sqlite"])
async def test_each_visitor_counts_once_per_step_today_and_on_a_kept_day_of_the_shops_zone(
    db: str, client: AppClient, sqlite_client: AppClient, make_account, sqlite_make_account
) -> None:
    app_client, make = (client, make_account) if db == "postgres" else (sqlite_client, sqlite_make_account)
    marketer, buyer = await make(Role.marketer), await make(Role.customer)
    today = datetime.now(UTC).date().isoformat()  # the test shop's zone is UTC
    path = f"/api/admin/analytics/funnel?from={today}&to={today}"
    before = (await app_client.get(path, headers=marketer.headers)).json()
    owner, number = await _walk(app_client, buyer)
    after = (await app_client.get(path, headers=marketer.headers)).json()
    moved = {step: after_n - _visits(before)[step] for step, after_n in _visits(after).items()}
    assert moved == {"views": 3, "carts": 2, "checkouts": 1, "paid": 1}
    assert after["steps"][0]["label"] == "Viewed a product"

    # the buyer's day moved to 03:30 UTC on May 10th 2003: the evening of the 9th in New York
    past = datetime(2003, 5, 10, 3, 30, tzinfo=UTC)
    runtime = app_client.app.state.runtime
    async with runtime.sessionmaker() as s:
        await s.execute(
            update(FunnelMark).where(FunnelMark.visitor == owner).values(at=past, day=past.date())
        )
        await s.execute(update(Checkout).where(Checkout.owner_key == owner).values(created_at=past))
        await s.execute(update(Order).where(Order.number == number).values(paid_at=past))
        await s.commit()
        await funnel.recount(s, [date(2003, 5, 9), date(2003, 5, 10)], zone=NEW_YORK)
        kept = await funnel.summary(s, date(2003, 5, 9), date(2003, 5, 10), timezone="America/New_York")
        empty = await funnel.summary(s, date(2003, 1, 1), date(2003, 1, 31), timezone="UTC")
    assert [(d.date.day, d.views, d.carts, d.checkouts, d.paid) for d in kept.days] == [
        (9, 1, 1, 1, 1),
        (10, 0, 0, 0, 0),
    ]
    assert [(s.visits, s.from_previous, s.from_first) for s in kept.steps] == [(1, 1.0, 1.0)] * 4
    assert [s.visits for s in empty.steps] == [0, 0, 0, 0] and len(empty.days) == 31
    assert all(s.from_previous == 0.0 for s in empty.steps[1:])
    csv = await app_client.get(
        "/api/admin/analytics/funnel.csv?from=2003-05-09&to=2003-05-10", headers=marketer.headers
    )
    assert csv.status_code == 200 and csv.text.splitlines()[0] == "date,views,carts,checkouts,paid"


async def test_the_job_keeps_ended_days_skips_empty_stretches_and_recounts_a_day_still_open_to_late_marks(
    client: AppClient,
) -> None:
    zone = ZoneInfo("Asia/Kathmandu")  # +05:45: a zone no other test keeps
    runtime = client.app.state.runtime
    first = datetime(2002, 7, 1, 12, 0, tzinfo=UTC)
    async with runtime.sessionmaker() as s:
        await funnel.mark(
            s,
            [
                funnel.Mark(funnel.VIEW, "guest:funnel-a", first),
                funnel.Mark(funnel.VIEW, "guest:funnel-a", first + timedelta(hours=1)),  # again: nothing
                funnel.Mark(funnel.VIEW, "guest:funnel-b", first + timedelta(days=40)),
                funnel.Mark(funnel.CART, "guest:funnel-b", first + timedelta(days=40)),
            ],
            zone=zone,
        )
        done = await funnel.keep(s, zone=zone)
        kept = {
            row.day: (row.views, row.carts)
            for row in await s.scalars(
                select(FunnelDay).where(
                    FunnelDay.zone == zone.key, FunnelDay.day.between(date(2002, 7, 1), date(2002, 8, 31))
                )
            )
        }
        # the 2nd of July had nothing: counted once, then straight to the next day with a visit
        assert kept[date(2002, 7, 1)] == (1, 0) and kept[date(2002, 8, 10)] == (1, 1)
        assert date(2002, 7, 20) not in kept
        yesterday = datetime.now(zone).date() - timedelta(days=1)
        assert await s.get(FunnelDay, (zone.key, yesterday)) is not None  # how far the days are kept
        again = await funnel.keep(s, zone=zone)
    # the first run reached yesterday; the next one counts at most yesterday again (marks may come late)
    assert done >= 3 and again <= 1


async def test_only_marketers_and_admins_see_the_funnel(client: AppClient, make_account) -> None:
    marketer, agent, shopper = (
        await make_account(Role.marketer),
        await make_account(Role.agent),
        await make_account(Role.customer),
    )
    today = datetime.now(UTC).date().isoformat()
    for path in ("funnel", "funnel.csv", "flash-sales"):
        url = f"/api/admin/analytics/{path}?from={today}&to={today}"
        assert (await client.get(url, headers=marketer.headers)).status_code == 200
        for who in (agent, shopper):
            assert (await client.get(url, headers=who.headers)).status_code == 403
        assert (await client.get(url)).status_code == 401
    backwards = await client.get(
        f"/api/admin/analytics/funnel?from={today}&to=2000-01-01", headers=marketer.headers
    )
    assert backwards.status_code == 422
