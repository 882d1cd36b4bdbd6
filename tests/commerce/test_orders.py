"""Orders: shoppers see only their own; staff ship, cancel and refund (never more than was paid)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from commerce import inventory
from commerce.cart import current_cart, set_quantity
from commerce.orders import find_order, recent_orders
from engage.platform.clock import utcnow
from engage.platform.identity import Role
from engage.platform.runtime import Runtime
from tests.commerce.conftest import Shopper, make_product
from tests.conftest import Account


async def _refunding_agent(client, make_account, limit_cents: int | None = None) -> Account:
    """An agent an admin gave the refund permission."""
    agent, admin = await make_account(Role.agent), await make_account(Role.admin)
    grant = {"allowed": True, "limit_cents": limit_cents}
    res = await client.put(f"/api/admin/staff/{agent.id}/refunds", json=grant, headers=admin.headers)
    assert res.status_code == 200, res.text
    return agent


async def _buy(client, shopper: Shopper, variant_id: int, quantity: int = 1, **checkout) -> str:
    assert (await shopper.add(variant_id, quantity)).status_code == 200
    started = await shopper.checkout(**checkout)
    paid = (await shopper.pay(started["id"])).json()
    assert paid["status"] == "paid", paid
    return paid["order_number"]


async def test_shoppers_see_only_their_own_orders(client, runtime: Runtime, make_account) -> None:
    alice, bob = await make_account(Role.customer), await make_account(Role.customer)
    agent = await make_account(Role.agent)
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=5)
    number = await _buy(client, Shopper(client, alice.headers), product.variants[0].id, email=alice.email)

    mine = await client.get("/api/orders", headers=alice.headers)
    assert [o["number"] for o in mine.json()["items"]][:1] == [number]
    assert (await client.get(f"/api/orders/{number}", headers=alice.headers)).status_code == 200

    # Bob, a guest, and anyone without a session: "not found", and his list does not show it.
    assert (await client.get(f"/api/orders/{number}", headers=bob.headers)).status_code == 404
    assert number not in [
        o["number"] for o in (await client.get("/api/orders", headers=bob.headers)).json()["items"]
    ]
    guest = await Shopper.guest(client.app)
    assert (await guest.request("GET", f"/api/orders/{number}")).status_code == 404
    assert (await client.get(f"/api/orders/{number}")).status_code == 404
    # Nor can he touch Alice's checkout.
    order = (await client.get(f"/api/orders/{number}", headers=alice.headers)).json()
    assert order["user_id"] == alice.id

    # Staff see every order; shoppers cannot use the staff API.
    assert (await client.get(f"/api/staff/orders/{number}", headers=agent.headers)).json()["number"] == number
    assert (await client.get("/api/staff/orders", headers=alice.headers)).status_code == 403
    found = await client.get("/api/staff/orders", params={"q": alice.email}, headers=agent.headers)
    assert [o["number"] for o in found.json()["items"]] == [number]
    await guest.aclose()


async def test_staff_ship_with_tracking_and_the_timeline_records_who_and_when(
    client, runtime: Runtime, make_account, event_log
) -> None:
    shopper_account, agent = await make_account(Role.customer), await make_account(Role.agent)
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=5)
    number = await _buy(
        client, Shopper(client, shopper_account.headers), product.variants[0].id, shipping="express"
    )

    res = await client.post(f"/api/staff/orders/{number}/deliver", headers=agent.headers)
    assert res.status_code == 409 and res.json()["code"] == "invalid_transition"
    assert (await client.post(f"/api/staff/orders/{number}/fulfil", headers=agent.headers)).json()[
        "status"
    ] == "fulfilled"
    res = await client.post(
        f"/api/staff/orders/{number}/ship",
        json={"tracking_number": "1Z999", "carrier": "UPS"},
        headers=agent.headers,
    )
    shipped = res.json()
    assert shipped["status"] == "shipped" and shipped["tracking_number"] == "1Z999"
    expected = date.fromisoformat(shipped["expected_delivery"])
    assert utcnow().date() < expected <= utcnow().date() + timedelta(days=4)  # express: 2 business days
    later = (utcnow().date() + timedelta(days=9)).isoformat()
    res = await client.post(
        f"/api/staff/orders/{number}/ship",
        json={"tracking_number": "X", "expected_delivery": later},
        headers=agent.headers,
    )
    assert res.status_code == 409  # already shipped
    assert (await client.post(f"/api/staff/orders/{number}/deliver", headers=agent.headers)).json()[
        "status"
    ] == "delivered"

    order = (await client.get(f"/api/orders/{number}", headers=shopper_account.headers)).json()
    changes = [
        (e["from_status"], e["to_status"], e["actor"]) for e in order["timeline"] if e["kind"] == "status"
    ]
    staff = f"user:{agent.id}"
    assert changes == [
        (None, "pending_payment", f"user:{shopper_account.id}"),
        ("pending_payment", "paid", f"user:{shopper_account.id}"),
        ("paid", "fulfilled", staff),
        ("fulfilled", "shipped", staff),
        ("shipped", "delivered", staff),
    ]
    assert all(e["at"] for e in order["timeline"])
    await runtime.publisher.drain()
    await asyncio.sleep(0)
    assert (
        await client.post(f"/api/staff/orders/{number}/fulfil", headers=shopper_account.headers)
    ).status_code == 403


async def test_order_updates_reach_the_shoppers_channel(client, make_account, runtime: Runtime) -> None:
    account, agent = await make_account(Role.customer), await make_account(Role.agent)
    seen: list = []

    async def sink(events) -> None:
        seen.extend(e for e in events if e.type == "order.updated")

    client.app.state.runtime.publisher.add_sink(sink)
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=5)
    number = await _buy(client, Shopper(client, account.headers), product.variants[0].id)
    await client.post(
        f"/api/staff/orders/{number}/ship", json={"tracking_number": "TRK1"}, headers=agent.headers
    )
    await client.app.state.runtime.publisher.drain()
    mine = [e for e in seen if e.data["number"] == number]
    assert [e.data["status"] for e in mine] == ["paid", "shipped"]
    assert mine[-1].channels == (f"user:{account.id}",) and mine[-1].data["tracking_number"] == "TRK1"
    assert set(mine[-1].data) >= {"order_id", "number", "status"}


async def test_refunds_partial_full_restock_and_never_more_than_paid(
    client, runtime: Runtime, make_account
) -> None:
    agent = await _refunding_agent(client, make_account)
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=10, price=1000)
    vid = product.variants[0].id
    shopper = await Shopper.guest(client.app)
    number = await _buy(client, shopper, vid, 3)
    order = (await client.get(f"/api/staff/orders/{number}", headers=agent.headers)).json()
    line_id = order["lines"][0]["id"]

    # Five staff press "refund one unit and restock" at once: only the three units bought come back.
    results = await asyncio.gather(
        *[
            client.post(
                f"/api/staff/orders/{number}/refund",
                json={"lines": [{"line_id": line_id, "quantity": 1}], "restock": True},
                headers=agent.headers,
            )
            for _ in range(5)
        ]
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 200, 200, 422, 422], [r.text for r in results]
    order = (await client.get(f"/api/staff/orders/{number}", headers=agent.headers)).json()
    assert order["status"] == "partially_refunded" and order["refunded_cents"] == 3000
    assert order["lines"][0]["returned_quantity"] == 3
    async with runtime.sessionmaker() as s:
        assert (await inventory.get_level(s, vid)).on_hand == 10  # type: ignore[union-attr]

    left = order["total_cents"] - 3000
    res = await client.post(
        f"/api/staff/orders/{number}/refund", json={"amount_cents": left + 1}, headers=agent.headers
    )
    assert res.status_code == 409 and res.json()["code"] == "over_refund"
    assert res.json()["refundable_cents"] == left
    res = await client.post(
        f"/api/staff/orders/{number}/refund", json={"reason": "rest"}, headers=agent.headers
    )
    assert res.json()["status"] == "refunded" and res.json()["refunded_cents"] == order["total_cents"]
    res = await client.post(
        f"/api/staff/orders/{number}/refund", json={"amount_cents": 1}, headers=agent.headers
    )
    assert res.status_code == 409
    await shopper.aclose()


async def test_cancelling_paid_and_unpaid_orders(client, runtime: Runtime, make_account) -> None:
    agent = await _refunding_agent(client, make_account)
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=4)
    vid = product.variants[0].id
    paid_shopper, unpaid_shopper = await Shopper.guest(client.app), await Shopper.guest(client.app)
    paid_number = await _buy(client, paid_shopper, vid, 2)

    await unpaid_shopper.add(vid, 1)
    checkout = await unpaid_shopper.checkout()
    declined = (await unpaid_shopper.pay(checkout["id"], "card:4000002500003155")).json()
    assert declined["status"] == "requires_action"

    res = await client.post(
        f"/api/staff/orders/{paid_number}/cancel", json={"reason": "customer asked"}, headers=agent.headers
    )
    assert res.status_code == 200, res.text
    cancelled = res.json()
    assert cancelled["status"] == "cancelled" and cancelled["refunded_cents"] == cancelled["total_cents"]
    res = await client.post(
        f"/api/staff/orders/{declined['order_number']}/cancel", json={}, headers=agent.headers
    )
    assert res.json()["status"] == "cancelled" and res.json()["refunded_cents"] == 0
    async with runtime.sessionmaker() as s:
        level = await inventory.get_level(s, vid)
        assert level is not None and (level.on_hand, level.reserved) == (4, 0)
        assert (await inventory.check_ledger(s, [vid]))[0].consistent
    res = await client.post(f"/api/staff/orders/{paid_number}/cancel", json={}, headers=agent.headers)
    assert res.status_code == 409
    await paid_shopper.aclose()
    await unpaid_shopper.aclose()


async def test_refunds_need_the_permission_an_admin_grants_with_a_limit(
    client, runtime: Runtime, make_account
) -> None:
    plain_agent, marketer = await make_account(Role.agent), await make_account(Role.marketer)
    limited = await _refunding_agent(client, make_account, limit_cents=1500)
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=10, price=1000)
    shopper = await Shopper.guest(client.app)
    number = await _buy(client, shopper, product.variants[0].id, 3)

    for who in (plain_agent, marketer):
        res = await client.post(f"/api/staff/orders/{number}/refund", json={}, headers=who.headers)
        assert res.status_code == 403 and res.json()["code"] == "no_refunds", res.text
        res = await client.post(f"/api/staff/orders/{number}/cancel", json={}, headers=who.headers)
        assert res.status_code == 403, res.text
    over = await client.post(f"/api/staff/orders/{number}/refund", json={}, headers=limited.headers)
    assert over.status_code == 403 and over.json()["code"] == "over_refund_limit"
    assert over.json()["limit_cents"] == 1500
    within = await client.post(
        f"/api/staff/orders/{number}/refund", json={"amount_cents": 1500}, headers=limited.headers
    )
    assert within.status_code == 200 and within.json()["refunded_cents"] == 1500

    # only admins grant it, only to agents, and it can be taken back
    admin = await make_account(Role.admin)
    res = await client.put(
        f"/api/admin/staff/{plain_agent.id}/refunds", json={"allowed": True}, headers=limited.headers
    )
    assert res.status_code == 403
    res = await client.put(
        f"/api/admin/staff/{marketer.id}/refunds", json={"allowed": True}, headers=admin.headers
    )
    assert res.status_code == 422
    staff = (await client.get("/api/admin/staff", headers=admin.headers)).json()
    assert {m["id"]: m["refund_limit_cents"] for m in staff if m["can_refund"]}[limited.id] == 1500
    res = await client.put(
        f"/api/admin/staff/{limited.id}/refunds", json={"allowed": False}, headers=admin.headers
    )
    assert res.json()["can_refund"] is False
    res = await client.post(
        f"/api/staff/orders/{number}/refund", json={"amount_cents": 100}, headers=limited.headers
    )
    assert res.status_code == 403
    # the admin refunds the rest, whatever it comes to
    res = await client.post(f"/api/staff/orders/{number}/refund", json={}, headers=admin.headers)
    assert res.status_code == 200 and res.json()["status"] == "refunded"
    await shopper.aclose()


async def test_the_public_api_for_the_bot_and_the_console(client, runtime: Runtime, make_account) -> None:
    account, agent = await make_account(Role.customer), await make_account(Role.agent)
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=6)
    vid = product.variants[0].id
    shopper = Shopper(client, account.headers)
    first = await _buy(client, shopper, vid, email=account.email)
    second = await _buy(client, shopper, vid, 2, email=account.email)
    await client.post(
        f"/api/staff/orders/{first}/ship", json={"tracking_number": "TRK-9"}, headers=agent.headers
    )

    async with runtime.sessionmaker() as s:
        recent = await recent_orders(s, account.id, limit=5)
        assert [o.number for o in recent] == [second, first]
        assert recent[1].tracking_number == "TRK-9" and recent[1].expected_delivery is not None
        found = await find_order(s, first.lower(), account.email.upper())
        assert found is not None and found.status == "shipped"
        assert await find_order(s, first, "someone-else@example.test") is None

        await set_quantity(s, f"user:{account.id}", vid, 1)
        cart = await current_cart(s, f"user:{account.id}", user_id=account.id, currency="usd")
        assert [(line.variant_id, line.quantity) for line in cart.lines] == [(vid, 1)]
