"""The sales summary: revenue net of refunds, orders, average, by day in the shop's time zone, the previous
period, top products; empty periods; only marketers and admins."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import update

from commerce.orders import Order
from engage.analytics import service
from engage.platform.identity import Role
from tests.commerce.conftest import Shopper, make_product
from tests.conftest import AppClient


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
        utc = await service.summary(s, date(2001, 3, 10), date(2001, 3, 10), timezone="UTC")
        new_york = await service.summary(s, date(2001, 3, 9), date(2001, 3, 10), timezone="America/New_York")
        empty = await service.summary(s, date(2001, 1, 1), date(2001, 1, 31), timezone="UTC")
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
