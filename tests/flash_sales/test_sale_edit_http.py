"""Flash sales over HTTP: marketing edits a planned sale (PUT); ids no row can have are bad input."""

from __future__ import annotations

from datetime import timedelta

from engage.platform.clock import utcnow
from engage.platform.identity import Role
from tests.flash_sales.conftest import make_sale, sale_product


async def test_a_marketer_moves_a_planned_sale_over_http(client, runtime, make_account) -> None:
    product = await sale_product(runtime, stock=20, price=3000)
    variant = product.variants[0].id
    sale_id = await make_sale(runtime, [variant], units=5, price=2000, starts_in=timedelta(hours=2))
    marketer = await make_account(Role.marketer)
    starts_at = utcnow() + timedelta(minutes=30)
    res = await client.put(
        f"/api/marketing/flash-sales/{sale_id}",
        headers=marketer.headers,
        json={
            "name": "Moved sale",
            "starts_at": starts_at.isoformat(),
            "ends_at": (starts_at + timedelta(hours=1)).isoformat(),
            "per_customer_limit": 2,
            "items": [{"variant_id": variant, "sale_price_cents": 1800, "units": 6}],
        },
    )
    assert res.status_code == 200, res.text
    public = (await client.get(f"/api/flash-sales/{sale_id}")).json()
    assert (public["name"], public["per_customer_limit"]) == ("Moved sale", 2)
    (item,) = public["items"]
    assert (item["sale_price_cents"], item["units_left"]) == (1800, 6)


HUGE = 10**30


def _refused_as_out_of_range(res) -> None:
    assert res.status_code == 400, res.text
    assert res.json()["code"] == "out_of_range"


async def test_ids_too_large_for_any_row_are_a_400_not_a_500_on_postgresql(client, make_account) -> None:
    _refused_as_out_of_range(await client.get(f"/api/flash-sales/{HUGE}"))
    shopper = await make_account(Role.customer)
    res = await client.post("/api/flash-sales/1/claims", json={"variant_id": HUGE}, headers=shopper.headers)
    _refused_as_out_of_range(res)


async def test_ids_too_large_for_any_row_are_a_400_not_a_500_on_sqlite(sqlite_client) -> None:
    _refused_as_out_of_range(await sqlite_client.get(f"/api/flash-sales/{HUGE}"))
