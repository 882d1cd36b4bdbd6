"""Privacy requests: a shopper downloads everything held about them, and has their account erased: it stops
working at once, and once erased (by the job or an admin) nothing names them: orders stay for the accounts,
their chat messages are "[erased]", cart, devices and tokens are gone."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from commerce.orders import Order
from engage.analytics import rollup
from engage.analytics.models import Buyer, BuyerDay
from engage.auth import User
from engage.chat.models import Message
from engage.platform.identity import Role
from tests.commerce.conftest import ADDRESS, Shopper, make_product
from tests.conftest import PASSWORD, AppClient
from workers.auth import erase_requested_accounts


async def _a_shopper_with_history(client: AppClient, make_account) -> tuple:
    account = await make_account(Role.customer)
    shopper = Shopper(client, account.headers)
    async with client.app.state.runtime.sessionmaker() as s:
        product = await make_product(s, stock=5)
    await shopper.add(product.variants[0].id)
    checkout = await shopper.checkout(email=account.email)
    paid = (await shopper.pay(checkout["id"])).json()
    await shopper.add(product.variants[0].id)  # a cart left behind
    started = await shopper.request(
        "POST", "/api/chat/conversations", json={"text": "Where is my parcel? I'm Ada, 12 Elm Street."}
    )
    assert started.status_code == 201, started.text
    return account, paid["order_number"], started.json()["conversation"]["id"]


async def test_a_shopper_downloads_everything_held_about_them(client: AppClient, make_account) -> None:
    account, number, _ = await _a_shopper_with_history(client, make_account)
    res = await client.get("/api/account/privacy/export", headers=account.headers)
    assert res.status_code == 200 and "attachment" in res.headers["content-disposition"]
    data = res.json()
    assert data["account"]["email"] == account.email
    assert [o["number"] for o in data["orders"]] == [number]
    assert data["orders"][0]["shipping_address"]["line1"] == ADDRESS["line1"]
    assert data["cart"] and data["checkouts"]
    assert any("12 Elm Street" in m["text"] for c in data["chats"] for m in c["messages"])
    assert {"notifications", "loyalty"} <= set(data)
    mine = (await client.get("/api/account/privacy/requests", headers=account.headers)).json()
    assert mine[0]["kind"] == "export" and mine[0]["status"] == "done"


async def test_an_erased_account_names_nobody_and_keeps_the_accounts(client: AppClient, make_account) -> None:
    account, number, conversation_id = await _a_shopper_with_history(client, make_account)
    admin, other = await make_account(Role.admin), await make_account(Role.customer)

    wrong = await client.post(
        "/api/account/privacy/erasure", json={"password": "not-it"}, headers=account.headers
    )
    assert wrong.status_code == 401
    res = await client.post(
        "/api/account/privacy/erasure", json={"password": PASSWORD}, headers=account.headers
    )
    assert res.status_code == 202 and res.json()["status"] == "pending"
    request_id = res.json()["id"]
    async with client.app.state.runtime.sessionmaker() as s:  # the roll-up keeps the buyer (as its job does)
        await rollup.refresh_orders(
            s, [await s.scalar(select(Order.id).where(Order.number == number))], zone=ZoneInfo("UTC")
        )
        assert await s.scalar(
            select(func.count()).select_from(BuyerDay).where(BuyerDay.email == account.email)
        )
    # it stops working at once: the token, and signing in
    assert (await client.get("/api/orders", headers=account.headers)).status_code == 401
    login = await client.post(
        "/api/auth/tokens", json={"email": account.email, "password": PASSWORD, "name": "x"}
    )
    assert login.status_code == 401

    # only admins see and act on requests
    assert (await client.get("/api/admin/privacy/requests", headers=other.headers)).status_code == 403
    pending = (await client.get("/api/admin/privacy/requests?status=pending", headers=admin.headers)).json()
    assert request_id in [r["id"] for r in pending]
    done = await client.post(f"/api/admin/privacy/requests/{request_id}/erase", headers=admin.headers)
    assert done.status_code == 200 and done.json()["status"] == "done"
    again = await client.post(f"/api/admin/privacy/requests/{request_id}/erase", headers=admin.headers)
    assert again.status_code == 409

    async with client.app.state.runtime.sessionmaker() as s:
        user = await s.get(User, account.id)
        assert user is not None and user.email == f"erased-{account.id}@erased.invalid" and not user.is_active
        order = await s.scalar(select(Order).where(Order.number == number))
        assert order is not None and order.email == "" and order.total_cents > 0
        assert set(order.shipping_address) <= {"country"}
        for kept in (BuyerDay, Buyer):  # the kept figures name nobody either; the order counts anonymised
            assert not await s.scalar(
                select(func.count()).select_from(kept).where(kept.email == account.email)
            )
        assert await s.scalar(select(func.count()).select_from(BuyerDay).where(BuyerDay.email == ""))
        bodies = (
            await s.scalars(select(Message.body).where(Message.conversation_id == conversation_id))
        ).all()
        assert bodies and "12 Elm Street" not in " ".join(bodies) and "[erased]" in bodies
    staff_view = await client.get(f"/api/staff/orders/{number}", headers=admin.headers)
    assert staff_view.status_code == 200 and staff_view.json()["total_cents"] == order.total_cents


async def test_the_job_erases_what_was_asked(client: AppClient, make_account) -> None:
    account, number, _ = await _a_shopper_with_history(client, make_account)
    res = await client.post(
        "/api/account/privacy/erasure", json={"password": PASSWORD}, headers=account.headers
    )
    assert res.status_code == 202
    assert await erase_requested_accounts(client.app.state.runtime.job_context) >= 1
    async with client.app.state.runtime.sessionmaker() as s:
        order = await s.scalar(select(Order).where(Order.number == number))
        assert order is not None and order.email == ""
