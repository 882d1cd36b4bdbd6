"""The audit trail: every change staff make through the API (and staff sign-ins) is recorded with who, when,
from where and what, secrets redacted; shoppers' requests and refused changes are not; admins search and
export it; nobody else reads it."""

from __future__ import annotations

import csv
import io

from engage.platform.identity import Role
from tests.conftest import PASSWORD, AppClient


async def _entries(client: AppClient, admin, **params) -> list[dict]:
    res = await client.get("/api/admin/audit", params=params, headers=admin.headers)
    assert res.status_code == 200, res.text
    return res.json()["entries"]


async def test_a_staff_change_is_recorded_with_who_what_and_the_request(
    client: AppClient, make_account
) -> None:
    admin, agent, shopper = (
        await make_account(Role.admin),
        await make_account(Role.agent),
        await make_account(Role.customer),
    )
    grant = {"allowed": True, "limit_cents": 2500}
    res = await client.put(f"/api/admin/staff/{agent.id}/refunds", json=grant, headers=admin.headers)
    assert res.status_code == 200
    [entry] = await _entries(client, admin, actor_id=admin.id, q="refunds")
    assert entry["action"] == "PUT /api/admin/staff/{user_id}/refunds"
    assert entry["target"] == {"user_id": str(agent.id)}
    assert entry["actor_email"] == admin.email and entry["actor_role"] == "admin"
    assert entry["detail"]["body"] == grant and entry["status"] == 200 and entry["address"]
    assert entry["detail"]["before"] == [
        {"kind": "refund permission", "key": agent.id, "was": {"can_refund": False, "limit_cents": None}}
    ]

    # refused changes and shoppers' requests leave nothing
    refused = await client.put(f"/api/admin/staff/{agent.id}/refunds", json=grant, headers=agent.headers)
    assert refused.status_code == 403
    await client.post("/api/cart/lines", json={"variant_id": 1, "quantity": 1}, headers=shopper.headers)
    changes = [e for e in await _entries(client, admin, actor_id=agent.id) if e["action"] != "sign_in"]
    assert changes == []  # (its API token was made with a sign-in, which is recorded)
    assert await _entries(client, admin, actor_id=shopper.id) == []


async def test_secrets_are_never_kept(client: AppClient, make_account) -> None:
    admin, reader = await make_account(Role.admin), await make_account(Role.admin)
    change = {"current_password": PASSWORD, "new_password": "An0ther-long-passphrase!"}
    assert (await client.post("/api/auth/password", json=change, headers=admin.headers)).status_code == 204
    [entry] = await _entries(client, reader, actor_id=admin.id, q="/api/auth/password")
    assert entry["detail"]["body"] == {"current_password": "[redacted]", "new_password": "[redacted]"}
    assert PASSWORD not in str(entry)


async def test_staff_sign_ins_and_failures_are_recorded_not_shoppers(
    client: AppClient, browser_client: AppClient, make_account
) -> None:
    admin, agent, shopper = (
        await make_account(Role.admin),
        await make_account(Role.agent),
        await make_account(Role.customer),
    )
    await browser_client.get("/api/auth/me")
    csrf = {"x-csrftoken": browser_client.cookies.get("engage_csrf") or ""}
    for who, password in ((agent, "wrong-password"), (agent, PASSWORD), (shopper, PASSWORD)):
        await browser_client.post(
            "/api/auth/login", json={"email": who.email, "password": password}, headers=csrf
        )
    actions = [e["action"] for e in await _entries(client, admin, actor_id=agent.id)]
    assert actions[:2] == ["sign_in", "sign_in_failed"]
    assert [
        e for e in await _entries(client, admin, actor_id=shopper.id) if e["action"].startswith("sign_in")
    ] == []


async def test_only_admins_read_it_and_the_export_is_safe_in_a_spreadsheet(
    client: AppClient, make_account
) -> None:
    admin, marketer, agent = (
        await make_account(Role.admin),
        await make_account(Role.marketer),
        await make_account(Role.agent),
    )
    for who in (marketer, agent):
        assert (await client.get("/api/admin/audit", headers=who.headers)).status_code == 403
        assert (await client.get("/api/admin/audit/export.csv", headers=who.headers)).status_code == 403
    assert (await client.get("/api/admin/audit")).status_code == 401
    # times without an offset are UTC, not a 500
    naive = "/api/admin/audit?since=2020-01-01T00:00:00&until=2020-01-02T00:00:00"
    assert (await client.get(naive, headers=admin.headers)).json()["entries"] == []
    formula = {"allowed": True, "limit_cents": 100}
    await client.put(f"/api/admin/staff/{agent.id}/refunds", json=formula, headers=admin.headers)
    res = await client.get(
        "/api/admin/audit/export.csv", params={"actor_id": admin.id}, headers=admin.headers
    )
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(res.text)))
    assert rows[0][:3] == ["id", "at", "actor_id"] and len(rows) >= 2
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


async def test_each_change_keeps_what_it_replaced(client: AppClient, make_account) -> None:
    from tests.commerce.conftest import Shopper, make_product

    marketer, admin, buyer = (
        await make_account(Role.marketer),
        await make_account(Role.admin),
        await make_account(Role.customer),
    )
    async with client.app.state.runtime.sessionmaker() as s:
        product = await make_product(s, stock=6, price=4000)
    variant = product.variants[0]
    staff = await client.get(f"/api/admin/products/{product.handle}", headers=marketer.headers)
    res = await client.patch(
        f"/api/admin/products/{product.handle}",
        json={
            "updated_at": staff.json()["updated_at"],
            "variants": [{"id": variant.id, "price_cents": 3500}],
        },
        headers=marketer.headers,
    )
    assert res.status_code == 200, res.text
    counted = await client.post(
        f"/api/admin/variants/{variant.id}/stock", json={"on_hand": 4}, headers=marketer.headers
    )
    assert counted.status_code == 200
    shopper = Shopper(client, buyer.headers)
    await shopper.add(variant.id)
    number = (await shopper.pay((await shopper.checkout(email=buyer.email))["id"])).json()["order_number"]
    refunded = await client.post(
        f"/api/staff/orders/{number}/refund", json={"amount_cents": 500}, headers=admin.headers
    )
    assert refunded.status_code == 200, refunded.text

    def was(entries: list[dict], kind: str) -> dict:
        [found] = [b["was"] for e in entries for b in e["detail"].get("before", []) if b["kind"] == kind]
        return found

    by_marketer = await _entries(client, admin, actor_id=marketer.id)
    product_was = was(by_marketer, "product")
    assert product_was["variants"][variant.sku] == {"price_cents": 4000, "compare_at_cents": None}
    assert was(by_marketer, "stock")["on_hand"] == 6
    order_was = was(await _entries(client, admin, actor_id=admin.id, q="refund"), "order")
    assert (order_was["status"], order_was["refunded_cents"]) == ("paid", 0)
