"""The back office's doors: orders (search, filters, keyset pages, notes), customers, the stock room, and
the dashboard's figures (new and returning buyers, support, CSV, today live over the hub). Shoppers get
403 on all of them."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update

from commerce.orders import Order, views
from engage.analytics import rollup, service
from engage.platform.identity import Role
from tests.commerce.conftest import Shopper, make_product, serving
from tests.conftest import AppClient
from tests.realtime.client import Socket

UTC_ZONE = ZoneInfo("UTC")


async def _product(client: AppClient, *, stock: int | list[int] = 10, price: int = 2000, threshold: int = 3):
    async with client.app.state.runtime.sessionmaker() as s:
        return await make_product(s, stock=stock, price=price, threshold=threshold)


async def _buy(client: AppClient, account, variant_id: int, quantity: int = 1) -> str:
    shopper = Shopper(client, account.headers)
    assert (await shopper.add(variant_id, quantity)).status_code in (200, 201)
    checkout = await shopper.checkout(email=account.email)
    res = await shopper.pay(checkout["id"])
    assert res.status_code == 200, res.text
    return str(res.json()["order_number"])


async def test_orders_are_found_by_product_email_state_and_date_in_keyset_pages(
    client: AppClient, make_account, monkeypatch
) -> None:
    buyer, agent = await make_account(Role.customer), await make_account(Role.agent)
    product = await _product(client)
    variant = product.variants[0]
    numbers = [await _buy(client, buyer, variant.id) for _ in range(3)]
    assert (
        await client.post(
            f"/api/staff/orders/{numbers[0]}/ship", json={"tracking_number": "TRK1"}, headers=agent.headers
        )
    ).status_code == 200

    async def found(query: str) -> dict:
        res = await client.get(f"/api/staff/orders?{query}", headers=agent.headers)
        assert res.status_code == 200, res.text
        return res.json()

    by_product = await found(f"q={product.name}")
    assert [o["number"] for o in by_product["items"]] == numbers[::-1] and by_product["total"] == 3
    assert [o["number"] for o in (await found(f"q={variant.sku}"))["items"]] == numbers[::-1]
    assert {o["number"] for o in (await found(f"q={buyer.email.upper()}"))["items"]} == set(numbers)
    assert [o["number"] for o in (await found(f"q={numbers[1].lower()}"))["items"]] == [numbers[1]]
    shipped = await found(f"q={buyer.email}&fulfilment=shipped")
    assert [o["number"] for o in shipped["items"]] == [numbers[0]]
    to_pack = await found(f"q={buyer.email}&fulfilment=unfulfilled&payment=paid")
    assert [o["number"] for o in to_pack["items"]] == numbers[:0:-1]
    assert (await found(f"q={buyer.email}&payment=unpaid"))["items"] == []
    assert [o["number"] for o in (await found(f"q={buyer.email}&status=shipped"))["items"]] == [numbers[0]]

    first = await found(f"q={buyer.email}&limit=2")
    assert [o["number"] for o in first["items"]] == numbers[:0:-1] and first["next_before"]
    second = await found(f"q={buyer.email}&limit=2&before={first['next_before']}")
    assert [o["number"] for o in second["items"]] == [numbers[0]] and second["next_before"] is None

    async with client.app.state.runtime.sessionmaker() as s:
        await s.execute(
            update(Order)
            .where(Order.number == numbers[2])
            .values(created_at=datetime(2002, 5, 1, 12, tzinfo=UTC))
        )
        await s.commit()
    in_may = await found(f"q={buyer.email}&from=2002-05-01T00:00:00Z&to=2002-05-02T00:00:00Z")
    assert [o["number"] for o in in_may["items"]] == [numbers[2]]
    assert (await client.get("/api/staff/orders?payment=lost", headers=agent.headers)).status_code == 400
    monkeypatch.setattr(views, "COUNT_UP_TO", 2)  # staff lists count so far, then say "more"
    capped = await found(f"q={product.name}")
    assert (capped["total"], capped["total_capped"], len(capped["items"])) == (2, True, 3)
    assert (await found(f"q={numbers[1]}"))["total_capped"] is False
    assert (await client.get("/api/staff/orders", headers=buyer.headers)).status_code == 403


async def test_staff_notes_stay_with_staff(client: AppClient, make_account) -> None:
    buyer, agent = await make_account(Role.customer), await make_account(Role.agent)
    number = await _buy(client, buyer, (await _product(client)).variants[0].id)
    res = await client.post(
        f"/api/staff/orders/{number}/notes", json={"text": "Called: leave at the door"}, headers=agent.headers
    )
    assert res.status_code == 200, res.text
    assert [e["note"] for e in res.json()["timeline"] if e["kind"] == "note"] == ["Called: leave at the door"]
    assert res.json()["timeline"][-1]["actor"] == f"user:{agent.id}"
    mine = (await client.get(f"/api/orders/{number}", headers=buyer.headers)).json()
    assert mine["timeline"] and all(e["kind"] != "note" for e in mine["timeline"])
    blank = await client.post(
        f"/api/staff/orders/{number}/notes", json={"text": "   "}, headers=agent.headers
    )
    assert blank.status_code == 422 and "note" in blank.json()["detail"]
    refused = await client.post(
        f"/api/staff/orders/{number}/notes", json={"text": "x"}, headers=buyer.headers
    )
    assert refused.status_code == 403


async def test_a_customer_page_adds_up_orders_refunds_chats_and_consent(
    client: AppClient, make_account
) -> None:
    tag = uuid.uuid4().hex[:8]
    buyer = await make_account(Role.customer, f"cust-{tag}@example.test")
    agent, admin = await make_account(Role.agent), await make_account(Role.admin)
    variant = (await _product(client, price=3000)).variants[0]
    first = await _buy(client, buyer, variant.id)
    await _buy(client, buyer, variant.id)
    refund = await client.post(
        f"/api/staff/orders/{first}/refund", json={"amount_cents": 700}, headers=admin.headers
    )
    assert refund.status_code == 200, refund.text
    chat = await client.post(
        "/api/chat/conversations", json={"text": "Where is my parcel?"}, headers=buyer.headers
    )
    assert chat.status_code in (200, 201), chat.text

    listed = await client.get(f"/api/admin/customers?q=cust-{tag}", headers=agent.headers)
    assert listed.status_code == 200
    (row,) = listed.json()["items"]
    one = (await client.get(f"/api/admin/customers/{buyer.id}", headers=agent.headers)).json()
    orders = {o["number"]: o for o in one["recent_orders"]}
    assert row["id"] == buyer.id and row["orders"] == 2 == one["orders"]
    assert row["spent_cents"] == sum(o["total_cents"] for o in orders.values()) - 700 == one["spent_cents"]
    assert first in orders and one["email"] == buyer.email
    assert [c["id"] for c in one["conversations"]] == [chat.json()["conversation"]["id"]]
    assert {"points", "credit"} <= set(one["loyalty"]) and "topics" in one["preferences"]
    assert one["privacy_requests"] == []
    assert (await client.get(f"/api/admin/customers/{agent.id}", headers=agent.headers)).status_code == 404
    assert (await client.get("/api/admin/customers", headers=buyer.headers)).status_code == 403
    assert (await client.get("/api/admin/customers")).status_code == 401


async def test_the_stock_room_lists_low_and_out_of_stock_with_a_reorder(
    client: AppClient, make_account
) -> None:
    buyer, marketer, agent = (
        await make_account(Role.customer),
        await make_account(Role.marketer),
        await make_account(Role.agent),
    )
    product = await _product(client, stock=[6, 0, 50], threshold=5)
    busy, empty, plenty = product.variants
    await _buy(client, buyer, busy.id, 2)  # 4 left: under the threshold

    async def room(query: str) -> dict:
        res = await client.get(f"/api/admin/stock?q={product.name}&{query}", headers=marketer.headers)
        assert res.status_code == 200, res.text
        return res.json()

    rows = {r["variant_id"]: r for r in (await room("showing=all"))["items"]}
    assert set(rows) == {busy.id, empty.id, plenty.id}
    assert (rows[busy.id]["on_hand"], rows[busy.id]["available"], rows[busy.id]["sold_last_30_days"]) == (
        4,
        4,
        2,
    )
    # 2 sold in 30 days: 2 more for the next 30, on top of the threshold of 5, minus the 4 there
    assert rows[busy.id]["suggested_reorder"] == 3 and rows[busy.id]["days_of_cover"] == 60.0
    assert rows[empty.id]["suggested_reorder"] == 5 and rows[plenty.id]["suggested_reorder"] == 0
    assert [r["variant_id"] for r in (await room("showing=low"))["items"]] == [busy.id]
    out = await room("showing=out")
    assert [r["variant_id"] for r in out["items"]] == [empty.id] and out["out"] >= 1 and out["low"] >= 1
    assert (await room("showing=all&cover_days=60"))["items"][0]["suggested_reorder"] == 5
    page = await room("showing=all&limit=2")
    rest = await room(f"showing=all&limit=2&after={page['next_after']}")
    assert [r["variant_id"] for r in page["items"] + rest["items"]] == sorted(rows) and rest[
        "next_after"
    ] is None
    received = await client.post(
        f"/api/admin/variants/{busy.id}/stock", json={"restock": 3, "note": "PO 12"}, headers=marketer.headers
    )
    assert received.json()["available"] == 7
    assert (await room("showing=low"))["items"] == []
    assert (await client.get("/api/admin/stock", headers=agent.headers)).status_code == 403
    assert (await client.get("/api/admin/stock?showing=gone", headers=marketer.headers)).status_code == 400


async def test_new_and_returning_buyers_and_the_csv_of_a_period(client: AppClient, make_account) -> None:
    old, new, marketer = (
        await make_account(Role.customer),
        await make_account(Role.customer),
        await make_account(Role.marketer),
    )
    variant = (await _product(client, price=1234)).variants[0]
    earlier, again, fresh = (
        await _buy(client, old, variant.id),
        await _buy(client, old, variant.id),
        await _buy(client, new, variant.id),
    )
    day = datetime(2003, 7, 14, 15, tzinfo=UTC)
    async with client.app.state.runtime.sessionmaker() as s:
        for number, at in ((earlier, day - timedelta(days=40)), (again, day), (fresh, day)):
            await s.execute(update(Order).where(Order.number == number).values(paid_at=at))
        await s.commit()
        await rollup.rebuild(
            s, zone=UTC_ZONE, since=datetime(2003, 5, 1, tzinfo=UTC), until=datetime(2003, 8, 1, tzinfo=UTC)
        )
        figures = await service.summary(
            s, date(2003, 7, 14), date(2003, 7, 14), timezone="UTC", currency="usd"
        )
    buyers = await client.get(
        "/api/admin/analytics/customers?from=2003-07-14&to=2003-07-14", headers=marketer.headers
    )
    assert buyers.json() == {"new": 1, "returning": 1}
    res = await client.get(
        "/api/admin/analytics/sales.csv?from=2003-07-13&to=2003-07-14", headers=marketer.headers
    )
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(res.text)))
    assert [(r["date"], r["orders"]) for r in rows] == [("2003-07-13", "0"), ("2003-07-14", "2")]
    assert (
        rows[1]["revenue"] == service.minor(figures.totals.revenue_cents)
        and rows[0]["previous_date"] == "2003-07-11"
    )
    products = await client.get(
        "/api/admin/analytics/products.csv?from=2003-07-14&to=2003-07-14", headers=marketer.headers
    )
    (top,) = csv.DictReader(io.StringIO(products.text))
    assert top["units"] == "2"
    assert service.minor(123456) == "1234.56" and service.minor(-5) == "-0.05" and service.minor(0) == "0.00"
    for path in ("sales.csv", "products.csv", "support", "today", "customers"):
        refused = await client.get(
            f"/api/admin/analytics/{path}?from=2003-07-14&to=2003-07-14", headers=old.headers
        )
        assert refused.status_code == 403


async def test_support_figures_of_a_period(client: AppClient, make_account) -> None:
    shopper, marketer = await make_account(Role.customer), await make_account(Role.marketer)
    started = await client.post("/api/chat/conversations", json={"text": "hello?"}, headers=shopper.headers)
    assert started.status_code in (200, 201)
    today = datetime.now(UTC).date()
    res = await client.get(
        f"/api/admin/analytics/support?from={today - timedelta(days=1)}&to={today + timedelta(days=1)}",
        headers=marketer.headers,
    )
    assert res.status_code == 200
    figures = res.json()
    assert figures["conversations"] >= 1 and figures["resolved"] <= figures["conversations"]
    empty = await client.get(
        "/api/admin/analytics/support?from=1999-01-01&to=1999-01-31", headers=marketer.headers
    )
    assert empty.json()["conversations"] == 0 and empty.json()["median_first_response_seconds"] is None
    assert empty.json()["csat"]["ratings"] == 0 and empty.json()["csat"]["satisfied_percent"] is None

    # CSAT of the ratings given in the period: a 5 and a 2 on a day of 1998, a 4 on the day after it
    from engage.chat.models import Rating

    rated = []
    for _ in range(3):  # a shopper has one open conversation: three shoppers
        who = await make_account(Role.customer)
        res = await client.post("/api/chat/conversations", json={"text": "hi"}, headers=who.headers)
        rated.append(res.json()["conversation"]["id"])
    async with client.app.state.runtime.sessionmaker() as s:
        for cid, score, day in zip(rated, (5, 2, 4), (10, 10, 11), strict=True):
            at = datetime(1998, 6, day, 12, tzinfo=UTC)
            s.add(Rating(conversation_id=cid, score=score, created_at=at, updated_at=at))
        await s.commit()
    day = await client.get(
        "/api/admin/analytics/support?from=1998-06-10&to=1998-06-10", headers=marketer.headers
    )
    assert {k: day.json()["csat"][k] for k in ("ratings", "average", "satisfied_percent")} == {
        "ratings": 2,
        "average": 3.5,
        "satisfied_percent": 50.0,
    }


async def _socket_token(client: AppClient, account) -> str:
    res = await client.post("/api/auth/socket-token", headers=account.headers)
    assert res.status_code == 200, res.text
    return str(res.json()["token"])


async def test_todays_tiles_move_live_when_a_guest_pays(client: AppClient, make_account) -> None:
    marketer, buyer = await make_account(Role.marketer), await make_account(Role.customer)
    variant = (await _product(client, price=4321)).variants[0]
    async with (
        serving(client.app) as base,
        Socket.open(base, token=await _socket_token(client, marketer)) as sock,
    ):
        answer = await sock.subscribe("sales-today")
        assert answer["type"] == "subscribed", answer
        orders_before = answer["snapshot"]["totals"]["orders"]
        guest = await Shopper.guest(client.app)
        try:
            assert (await guest.add(variant.id)).status_code in (200, 201)
            checkout = await guest.checkout(email=f"guest-{uuid.uuid4().hex[:6]}@example.test")
            assert (await guest.pay(checkout["id"])).status_code == 200
        finally:
            await guest.aclose()
        while True:
            event = await sock.next("event", channel="sales-today")
            if event["data"]["totals"]["orders"] > orders_before:
                break
        assert event["event"] == "analytics.today" and event["data"]["totals"]["revenue_cents"] >= 4321
    async with (
        serving(client.app) as base,
        Socket.open(base, token=await _socket_token(client, buyer)) as sock,
    ):
        refused = await sock.subscribe("sales-today")
        assert refused["type"] == "error", refused
