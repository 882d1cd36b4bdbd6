"""The marketing console's pages (who may open them) and the report's claims per second."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engage.flash_sales.report import RATE_WINDOW, report
from engage.platform.clock import utcnow
from engage.platform.identity import Role
from engage.platform.runtime import Runtime
from engage.services import Services
from tests.flash_sales.conftest import make_sale, make_shoppers, sale_product
from tests.flash_sales.test_claims import _claim


async def test_claims_per_second_counts_the_claims_of_the_recent_window(mode_services: Services) -> None:
    runtime = mode_services.runtime
    product = await sale_product(runtime, stock=20)
    variant = product.variants[0].id
    sale_id = await make_sale(runtime, [variant], units=10)
    shoppers = await make_shoppers(runtime, 4)

    async with runtime.sessionmaker() as session:
        quiet = (await report(session, sale_id))["stats"]
    assert (quiet["claims_recent"], quiet["claims_per_second"]) == (0, 0.0)
    assert quiet["rate_window_seconds"] == RATE_WINDOW.total_seconds()

    for who in shoppers:
        await _claim(mode_services, sale_id, variant, who)
    window = RATE_WINDOW.total_seconds()
    async with runtime.sessionmaker() as session:
        now = (await report(session, sale_id))["stats"]
        later = (await report(session, sale_id, now=utcnow() + RATE_WINDOW + timedelta(seconds=1)))["stats"]
    assert now["claims_total"] == 4
    assert (now["claims_recent"], now["claims_per_second"]) == (4, round(4 / window, 2))
    # the claims age out of the window: the total stays, the rate falls to nothing
    assert later["claims_total"] == 4
    assert (later["claims_recent"], later["claims_per_second"]) == (0, 0.0)


PAGES = ("/marketing", "/marketing/sales/{sale_id}")


@pytest.fixture
async def sale_id(runtime: Runtime) -> int:
    product = await sale_product(runtime, stock=5)
    return await make_sale(runtime, [product.variants[0].id], units=3)


@pytest.mark.parametrize("role", [Role.marketer, Role.admin])
async def test_marketers_and_admins_get_the_console(client, make_account, sale_id: int, role: Role) -> None:
    who = await make_account(role)
    res = await client.get("/marketing", headers=who.headers)
    assert res.status_code == 200, res.text
    assert 'id="marketing"' in res.text and 'id="sale-form"' in res.text
    assert 'data-currency="USD"' in res.text
    assert "/static/js/marketing.js" in res.text
    assert "<script>" not in res.text  # no inline scripts (CSP)

    res = await client.get(f"/marketing/sales/{sale_id}", headers=who.headers)
    assert res.status_code == 200, res.text
    assert f'data-sale-id="{sale_id}"' in res.text
    assert "/static/js/marketing-sale.js" in res.text

    res = await client.get(f"/marketing/sales/{sale_id + 10_000}", headers=who.headers)
    assert res.status_code == 404 and f"no flash sale #{sale_id + 10_000}" in res.text


async def test_guests_are_sent_to_sign_in(client, sale_id: int) -> None:
    for path in (p.format(sale_id=sale_id) for p in PAGES):
        res = await client.get(path)
        assert res.status_code in (302, 303), (path, res.status_code)
        assert res.headers["location"] == f"/login?next={path}"


@pytest.mark.parametrize("role", [Role.customer, Role.agent])
async def test_other_roles_get_the_forbidden_page(client, make_account, sale_id: int, role: Role) -> None:
    who = await make_account(role)
    for path in (p.format(sale_id=sale_id) for p in PAGES):
        res = await client.get(path, headers=who.headers)
        assert res.status_code == 403, (path, res.status_code)
        assert "Not allowed" in res.text and "marketer" in res.text
        assert "sale-form" not in res.text and "data-sale-id" not in res.text


async def test_the_static_modules_are_served(client) -> None:
    for name in ("marketing.js", "marketing-sale.js", "marketing-common.js"):
        res = await client.get(f"/static/js/{name}")
        assert res.status_code == 200, name
        assert "javascript" in res.headers["content-type"]


async def test_a_marketer_edits_a_live_sale_over_http(client, make_account, runtime: Runtime) -> None:
    """The console's edit: PUT the whole plan back with a new name and more units (the gate follows)."""
    marketer = await make_account(Role.marketer)
    buyer = await make_account(Role.customer)
    product = await sale_product(runtime, stock=10)
    variant = product.variants[0]
    sale_id = await make_sale(runtime, [variant.id], units=2, price=1500)
    base = (await client.get(f"/api/marketing/flash-sales/{sale_id}", headers=marketer.headers)).json()
    res = await client.post(
        f"/api/flash-sales/{sale_id}/claims", json={"variant_id": variant.id}, headers=buyer.headers
    )
    assert res.status_code == 201, res.text

    plan = {
        "name": "Renamed",
        "starts_at": base["starts_at"],
        "ends_at": base["ends_at"],
        "per_customer_limit": base["per_customer_limit"],
        "items": [{"sku": variant.sku, "sale_price_cents": 1500, "units": 6}],
    }
    res = await client.put(f"/api/marketing/flash-sales/{sale_id}", json=plan, headers=marketer.headers)
    assert res.status_code == 200, res.text
    edited = res.json()
    assert edited["name"] == "Renamed"
    assert [(i["units_allotted"], i["units_left"]) for i in edited["items"]] == [(6, 5)]

    # a live sale keeps its prices: the problem names the rule
    res = await client.put(
        f"/api/marketing/flash-sales/{sale_id}",
        json={**plan, "items": [{"sku": variant.sku, "sale_price_cents": 1400, "units": 6}]},
        headers=marketer.headers,
    )
    assert res.status_code == 409 and res.json()["code"] == "sale_live"


async def test_a_draft_cannot_be_cancelled_into_public_view(client, make_account, runtime: Runtime) -> None:
    """Cancelling would make a never-published plan public (`sale:{id}`, the listing, its product pages)."""
    marketer = await make_account(Role.marketer)
    product = await sale_product(runtime, stock=5)
    draft = await make_sale(runtime, [product.variants[0].id], units=2, price=1500, publish=False)
    res = await client.post(f"/api/marketing/flash-sales/{draft}/cancel", headers=marketer.headers)
    assert res.status_code == 409 and res.json()["code"] == "draft", res.text
    assert (
        await client.get(f"/api/flash-sales/{draft}")
    ).status_code == 404  # still nobody's but marketing's
    res = await client.post(f"/api/marketing/flash-sales/{draft}/publish", headers=marketer.headers)
    assert res.status_code == 200, res.text
    res = await client.post(f"/api/marketing/flash-sales/{draft}/cancel", headers=marketer.headers)
    assert res.status_code == 200 and res.json()["status"] == "cancelled", res.text
