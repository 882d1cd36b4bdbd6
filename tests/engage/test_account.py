"""The shopper's account: name, sign out everywhere, cancelling their own order; the page on a phone."""

from __future__ import annotations

from engage.platform.identity import Role
from tests.commerce.conftest import Shopper, make_product
from tests.conftest import PASSWORD, AppClient, api_token


async def _paid_order(client: AppClient, account) -> str:
    shopper = Shopper(client, account.headers)
    async with client.app.state.runtime.sessionmaker() as s:
        product = await make_product(s, stock=3)
    await shopper.add(product.variants[0].id)
    checkout = await shopper.checkout(email=account.email)
    return (await shopper.pay(checkout["id"])).json()["order_number"]


async def test_a_shopper_cancels_their_own_order_until_it_ships(client: AppClient, make_account) -> None:
    mine, other, admin = (
        await make_account(Role.customer),
        await make_account(Role.customer),
        await make_account(Role.admin),
    )
    number = await _paid_order(client, mine)
    assert (
        await client.post(f"/api/orders/{number}/cancel", json={}, headers=other.headers)
    ).status_code == 404
    res = await client.post(f"/api/orders/{number}/cancel", json={}, headers=mine.headers)
    assert res.status_code == 200, res.text
    assert res.json()["status"] == "cancelled" and res.json()["refunded_cents"] == res.json()["total_cents"]

    shipped = await _paid_order(client, mine)
    ship = {"tracking_number": "1Z999", "carrier": "UPS"}
    assert (
        await client.post(f"/api/staff/orders/{shipped}/ship", json=ship, headers=admin.headers)
    ).status_code == 200
    late = await client.post(f"/api/orders/{shipped}/cancel", json={}, headers=mine.headers)
    assert late.status_code == 409


async def test_sign_out_everywhere_and_a_new_name(
    client: AppClient, browser_client: AppClient, make_account
) -> None:
    account = await make_account(Role.customer)
    await browser_client.get("/api/auth/me")
    csrf = {"x-csrftoken": browser_client.cookies.get("engage_csrf") or ""}
    assert (
        await browser_client.post(
            "/api/auth/login", json={"email": account.email, "password": PASSWORD}, headers=csrf
        )
    ).status_code == 200
    renamed = await client.patch("/api/auth/me", json={"name": "Ada  Lovelace\n"}, headers=account.headers)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Ada Lovelace"
    other_token = await api_token(client, account.email)
    res = await client.post("/api/auth/logout-everywhere", headers={"Authorization": f"Bearer {other_token}"})
    assert res.status_code == 204
    assert (await client.get("/api/orders", headers=account.headers)).status_code == 401
    assert (await browser_client.get("/api/auth/me")).json()["authenticated"] is False
