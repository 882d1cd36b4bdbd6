"""Self-service returns: a shopper returns units of a delivered order (never more than bought minus what is
returned or already asked for, also when asking twice at once); staff receive the parcel (refund at the price
paid, restock) or reject it; nobody else sees or touches it."""

from __future__ import annotations

import asyncio

from commerce import inventory
from engage.platform.identity import Role
from tests.commerce.conftest import Shopper, make_product
from tests.conftest import AppClient


async def _delivered(client: AppClient, shopper_account, admin, quantity: int = 3) -> tuple[str, int, int]:
    shopper = Shopper(client, shopper_account.headers)
    async with client.app.state.runtime.sessionmaker() as s:
        product = await make_product(s, stock=10, price=1000)
    vid = product.variants[0].id
    await shopper.add(vid, quantity)
    checkout = await shopper.checkout(email=shopper_account.email)
    number = (await shopper.pay(checkout["id"])).json()["order_number"]
    h = admin.headers
    assert (
        await client.post(f"/api/staff/orders/{number}/ship", json={"tracking_number": "1Z1"}, headers=h)
    ).status_code == 200
    assert (await client.post(f"/api/staff/orders/{number}/deliver", headers=h)).status_code == 200
    order = (await client.get(f"/api/orders/{number}", headers=shopper_account.headers)).json()
    return number, order["lines"][0]["id"], vid


async def test_a_shopper_returns_one_line_and_staff_receive_and_refund_it(
    client: AppClient, make_account
) -> None:
    mine, other, admin = (
        await make_account(Role.customer),
        await make_account(Role.customer),
        await make_account(Role.admin),
    )
    number, line_id, vid = await _delivered(client, mine, admin)
    ask = {"lines": [{"line_id": line_id, "quantity": 1}], "reason": "too small"}
    res = await client.post(f"/api/orders/{number}/returns", json=ask, headers=mine.headers)
    assert res.status_code == 201, res.text
    made = res.json()
    assert made["status"] == "requested" and made["rma"] in made["instructions"]
    assert (
        await client.post(f"/api/orders/{number}/returns", json=ask, headers=other.headers)
    ).status_code == 404
    assert (await client.get(f"/api/orders/{number}/returns", headers=other.headers)).status_code == 404
    too_many = {"lines": [{"line_id": line_id, "quantity": 3}]}
    over = await client.post(f"/api/orders/{number}/returns", json=too_many, headers=mine.headers)
    assert over.status_code == 409 and over.json()["code"] == "over_return"

    listed = (await client.get("/api/staff/returns?status=requested", headers=admin.headers)).json()
    assert made["id"] in [r["id"] for r in listed]
    assert (await client.get("/api/staff/returns", headers=mine.headers)).status_code == 403
    received = await client.post(
        f"/api/staff/returns/{made['id']}/receive", json={"restock": True}, headers=admin.headers
    )
    assert received.status_code == 200, received.text
    assert received.json()["status"] == "refunded"
    again = await client.post(f"/api/staff/returns/{made['id']}/receive", json={}, headers=admin.headers)
    assert again.status_code == 409
    order = (await client.get(f"/api/orders/{number}", headers=mine.headers)).json()
    assert order["refunded_cents"] == 1000 and order["lines"][0]["returned_quantity"] == 1
    async with client.app.state.runtime.sessionmaker() as s:
        assert (await inventory.get_level(s, vid)).on_hand == 8  # type: ignore[union-attr]  # 10 - 3 + 1
    mine_now = (await client.get(f"/api/orders/{number}/returns", headers=mine.headers)).json()
    assert [r["status"] for r in mine_now] == ["refunded"]


async def test_two_requests_at_once_cannot_return_more_than_was_bought(
    client: AppClient, make_account
) -> None:
    mine, admin = await make_account(Role.customer), await make_account(Role.admin)
    number, line_id, _ = await _delivered(client, mine, admin, quantity=3)
    ask = {"lines": [{"line_id": line_id, "quantity": 2}]}
    answers = await asyncio.gather(
        *[client.post(f"/api/orders/{number}/returns", json=ask, headers=mine.headers) for _ in range(4)]
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    rejected = next(a.json() for a in answers if a.status_code == 201)
    res = await client.post(
        f"/api/staff/returns/{rejected['id']}/reject", json={"note": "worn"}, headers=admin.headers
    )
    assert res.json()["status"] == "rejected"
    # a rejected request no longer counts: the units may be asked for again
    assert (
        await client.post(f"/api/orders/{number}/returns", json=ask, headers=mine.headers)
    ).status_code == 201


async def test_only_delivered_orders_within_the_window(client: AppClient, make_account) -> None:
    mine = await make_account(Role.customer)
    shopper = Shopper(client, mine.headers)
    async with client.app.state.runtime.sessionmaker() as s:
        product = await make_product(s, stock=2)
    await shopper.add(product.variants[0].id)
    checkout = await shopper.checkout(email=mine.email)
    number = (await shopper.pay(checkout["id"])).json()["order_number"]
    order = (await client.get(f"/api/orders/{number}", headers=mine.headers)).json()
    ask = {"lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}]}
    early = await client.post(f"/api/orders/{number}/returns", json=ask, headers=mine.headers)
    assert early.status_code == 409 and early.json()["code"] == "not_returnable"
    bad = await client.post(f"/api/orders/{number}/returns", json={"lines": []}, headers=mine.headers)
    assert bad.status_code == 400
