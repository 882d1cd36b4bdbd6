"""A product other areas still point at (a flash sale's item) is not deleted: 409 naming what holds it."""

from __future__ import annotations

import pytest

from engage.platform.identity import Role
from tests.conftest import account_on
from tests.flash_sales.conftest import make_sale, sale_product


@pytest.mark.parametrize("mode", ["embedded", "production"])
async def test_deleting_a_product_in_a_flash_sale_is_a_409_naming_it(mode, client, sqlite_client) -> None:
    app = sqlite_client if mode == "embedded" else client
    runtime = app.app.state.services.runtime
    marketer = await account_on(app, Role.marketer)
    product = await sale_product(runtime)
    await make_sale(runtime, [product.variants[0].id], publish=False)

    res = await app.delete(f"/api/admin/products/{product.handle}", headers=marketer.headers)
    assert res.status_code == 409, res.text
    problem = res.json()
    assert problem["code"] == "still_referenced" and "flash sale items" in problem["detail"]
    assert problem["held_by"] == [{"table": "flash_sale_items", "rows": 1}]

    # replacing the product without that variant would delete it: refused alike
    draft = {"name": "Renamed", "variants": [{"sku": f"{product.handle}-other", "price_cents": 100}]}
    res = await app.put(f"/api/admin/products/{product.handle}", json=draft, headers=marketer.headers)
    assert res.status_code == 409 and res.json()["code"] == "still_referenced", res.text
    assert (
        await app.get(f"/api/admin/products/{product.handle}", headers=marketer.headers)
    ).status_code == 200


@pytest.mark.parametrize("mode", ["embedded", "production"])
async def test_a_product_in_carts_only_is_deleted(mode, client, sqlite_client) -> None:
    app = sqlite_client if mode == "embedded" else client
    runtime = app.app.state.services.runtime
    marketer, shopper = await account_on(app, Role.marketer), await account_on(app, Role.customer)
    product = await sale_product(runtime)
    res = await app.post(
        "/api/cart/lines", json={"variant_id": product.variants[0].id, "quantity": 1}, headers=shopper.headers
    )
    assert res.status_code == 200, res.text
    res = await app.delete(f"/api/admin/products/{product.handle}", headers=marketer.headers)
    assert res.status_code == 204, res.text
    assert (await app.get("/api/cart", headers=shopper.headers)).json()["lines"] == []
