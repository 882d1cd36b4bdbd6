"""The shopper's order page in Chromium: the address is written the way its country writes it, and the
timeline shows the shopper's story (placed, paid...) without the shop's internals ("payment 1 failed")."""

from __future__ import annotations

from typing import Any

from engage.platform.identity import Role
from tests.commerce.conftest import DECLINED_CARD, Shopper
from tests.web.conftest import make_person, make_product, sign_in, token_of, watch_errors

US = {
    "name": "Abe Lincoln",
    "line1": "413 S 8th St",
    "city": "Springfield",
    "region": "IL",
    "postal_code": "62701",
    "country": "US",
}
DE = {
    "name": "Erika Muster",
    "line1": "Unter den Linden 1",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
}
GB = {
    "name": "Sherlock Holmes",
    "line1": "221B Baker Street",
    "city": "London",
    "postal_code": "NW1 6XE",
    "country": "GB",
}
AU = {
    "name": "Bruce Wayne",
    "line1": "1 Macquarie St",
    "city": "Sydney",
    "region": "NSW",
    "postal_code": "2000",
    "country": "AU",
}


async def _order(
    shopper: Shopper, variant: int, address: dict[str, str], *, decline_first: bool = False
) -> str:
    res = await shopper.add(variant)
    assert res.status_code in (200, 201), res.text
    checkout = await shopper.checkout(address=address)
    if decline_first:
        res = await shopper.pay(checkout["id"], DECLINED_CARD)
        assert res.json()["status"] == "failed", res.text
    res = await shopper.pay(checkout["id"])
    assert res.status_code == 200 and res.json()["status"] == "paid", res.text
    return res.json()["order_number"]


async def _address(page: Any) -> list[str]:
    return [
        line.strip() for line in await page.locator(".order-page .address .address-line").all_inner_texts()
    ]


async def test_addresses_by_country_and_a_shoppers_timeline(
    browser, site, sqlite_client, web_runtime
) -> None:
    from playwright.async_api import expect

    http = sqlite_client
    async with web_runtime.sessionmaker() as s:
        product = await make_product(s, stock=[20], price=1000)
    variant = product.variants[0].id
    person = await make_person(web_runtime, Role.customer, "Abe")
    shopper = Shopper(http, await token_of(http, person))
    orders = {
        "US": await _order(shopper, variant, US, decline_first=True),
        "DE": await _order(shopper, variant, DE),
        "GB": await _order(shopper, variant, GB),
        "AU": await _order(shopper, variant, AU),
    }
    staff_view = await http.get(f"/api/orders/{orders['US']}", headers=shopper.headers)
    assert any("payment 1" in e["note"] for e in staff_view.json()["timeline"]), "the internals exist"

    page = await (await browser.new_context(base_url=site)).new_page()
    errors = watch_errors(page)
    await sign_in(page, person)

    await page.goto(f"/orders/{orders['US']}")
    assert await _address(page) == ["Abe Lincoln", "413 S 8th St", "Springfield, IL 62701", "United States"]
    timeline = page.locator(".order-page .timeline")
    await expect(timeline).to_contain_text("Order placed")
    await expect(timeline).to_contain_text("Payment received")
    text = await timeline.inner_text()
    for internal in ("payment 1", "payment 2", "failed", "declined", "succeeded", "started"):
        assert internal not in text.lower(), text
    assert "62701 Springfield" not in await page.locator(".order-page").inner_text()

    await page.goto(f"/orders/{orders['DE']}")
    assert await _address(page) == ["Erika Muster", "Unter den Linden 1", "10115 Berlin", "Germany"]
    await page.goto(f"/orders/{orders['GB']}")
    assert await _address(page) == [
        "Sherlock Holmes",
        "221B Baker Street",
        "London",
        "NW1 6XE",
        "United Kingdom",
    ]
    await page.goto(f"/orders/{orders['AU']}")
    assert await _address(page) == ["Bruce Wayne", "1 Macquarie St", "Sydney NSW 2000", "Australia"]
    assert errors == []
