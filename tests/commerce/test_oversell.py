"""200 shoppers race for 50 units, on PostgreSQL and on SQLite: exactly 50 are sold, never 51."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from commerce import inventory
from commerce.orders.models import Order, OrderLine
from tests.commerce.conftest import Shopper, make_product

BUYERS = 200
UNITS = 50


@pytest.fixture(params=["postgresql", "sqlite"])
def shop(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    return request.getfixturevalue("client" if request.param == "postgresql" else "sqlite_client")


@pytest.mark.slow
async def test_two_hundred_buyers_fifty_units(shop) -> None:  # type: ignore[no-untyped-def]
    client = shop
    runtime = client.app.state.runtime
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=UNITS, price=4900)
    vid = product.variants[0].id

    async def buyer() -> str:
        shopper = await Shopper.guest(client.app)
        try:
            if (await shopper.add(vid)).status_code != 200:
                return "cart refused"
            started = await shopper.request("POST", "/api/checkout")
            if started.status_code == 409:
                return "sold out"
            assert started.status_code == 201, started.text
            checkout = started.json()
            res = await shopper.request(
                "PATCH",
                f"/api/checkout/{checkout['id']}",
                json={
                    "email": "racer@example.test",
                    "address": {
                        "name": "R",
                        "line1": "1 St",
                        "city": "X",
                        "postal_code": "1",
                        "country": "US",
                    },
                    "shipping_method": "standard",
                },
            )
            assert res.status_code == 200, res.text
            paid = await shopper.pay(checkout["id"])
            assert paid.status_code == 200, paid.text
            return paid.json()["status"]
        finally:
            await shopper.aclose()

    outcomes = await asyncio.gather(*[buyer() for _ in range(BUYERS)])
    assert outcomes.count("paid") == UNITS, {o: outcomes.count(o) for o in set(outcomes)}
    assert set(outcomes) <= {"paid", "sold out", "cart refused"}

    async with runtime.sessionmaker() as s:
        level = await inventory.get_level(s, vid)
        assert level is not None and (level.on_hand, level.reserved, level.available) == (0, 0, 0)
        [check] = await inventory.check_ledger(s, [vid])
        assert check.consistent and check.ledger_on_hand == 0
        sold = await s.scalar(
            select(func.coalesce(func.sum(OrderLine.quantity), 0))
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.variant_id == vid, Order.status == "paid")
        )
        assert sold == UNITS
        paid_orders = await s.scalar(
            select(func.count(func.distinct(Order.id)))
            .join(OrderLine, OrderLine.order_id == Order.id)
            .where(OrderLine.variant_id == vid, Order.status == "paid")
        )
        assert paid_orders == UNITS
