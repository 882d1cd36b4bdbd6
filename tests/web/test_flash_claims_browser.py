"""A flash-sale buyer in Chromium: with a unit held, the cart prices it at the sale price (the regular one
struck through), not the regular price beside the sale total; once bought, the product page no longer
offers "Claim" (the box knows this shopper's claims: GET /api/flash-sales/mine)."""

from __future__ import annotations

from tests.commerce.conftest import Shopper
from tests.flash_sales.conftest import make_sale
from tests.web.conftest import make_person, make_product, sign_in, token_of, watch_errors


async def test_a_bought_flash_item_cannot_be_claimed_again(browser, site, sqlite_client, web_runtime) -> None:
    from playwright.async_api import expect

    from engage.platform.identity import Role

    http = sqlite_client
    async with web_runtime.sessionmaker() as s:
        product = await make_product(s, stock=[10, 10], price=2500)
    variant, other = (v.id for v in product.variants)
    sale = await make_sale(web_runtime, [variant, other], units=5, price=1500, limit=1)
    buyer = await make_person(web_runtime, Role.customer, "Flash Buyer")
    shopper = Shopper(http, await token_of(http, buyer))

    page = await (await browser.new_context(base_url=site)).new_page()
    errors = watch_errors(page)
    await sign_in(page, buyer, then=f"/products/{product.handle}")
    row = page.locator(f'[data-flash-sale="{sale}"] [data-flash-item="{variant}"]')
    await expect(row.locator("button[data-claim]")).to_have_text("Claim")
    await expect(row.locator("button[data-claim]")).to_be_enabled()

    # claimed (held, in the cart): the cart's price column says what the unit costs
    res = await http.post(
        f"/api/flash-sales/{sale}/claims", json={"variant_id": variant}, headers=shopper.headers
    )
    assert res.status_code == 201, res.text
    mine = await http.get("/api/flash-sales/mine", headers=shopper.headers)
    assert mine.status_code == 200, mine.text
    assert [(m["sale_id"], m["claimed"], [c["status"] for c in m["claims"]]) for m in mine.json()] == [
        (sale, 1, ["held"])
    ]
    await page.goto("/cart")
    line = page.locator(f'tr[data-variant="{variant}"]')
    await expect(line.locator("td.price")).to_contain_text("$15.00")
    await expect(line.locator("td.price s")).to_have_text("$25.00")
    await page.wait_for_timeout(500)  # live prices arrive: the sale price stays
    await expect(line.locator("td.price .sale")).to_have_text("$15.00")
    await expect(page.locator("[data-cart-total]")).to_have_text("$15.00")

    # the product page knows the unit is held: it offers checkout, and the other item is over the limit
    await page.goto(f"/products/{product.handle}")
    await expect(row.locator("button[data-claim]")).to_have_text("Check out")
    other_row = page.locator(f'[data-flash-sale="{sale}"] [data-flash-item="{other}"]')
    await expect(other_row.locator("button[data-claim]")).to_have_text("Limit reached")
    await expect(other_row.locator("button[data-claim]")).to_be_disabled()

    # bought: no enabled "Claim" anywhere in this sale for this shopper
    checkout = await shopper.checkout()
    assert checkout["subtotal_cents"] - checkout["discount_cents"] == 1500, checkout
    res = await shopper.pay(checkout["id"])
    assert res.status_code == 200 and res.json()["status"] == "paid", res.text
    order = res.json()["order_number"]
    await page.goto(f"/products/{product.handle}")
    await expect(row.locator("button[data-claim]")).to_have_text("Bought")
    await expect(row.locator("button[data-claim]")).to_be_disabled()
    await expect(other_row.locator("button[data-claim]")).to_be_disabled()
    await expect(page.locator(f'[data-flash-sale="{sale}"] [data-flash-note]')).to_contain_text(
        "your 1 unit allowed per customer"
    )
    assert await page.locator("button[data-claim]:enabled").count() == 0

    # the order shows what the unit cost too
    await page.goto(f"/orders/{order}")
    await expect(page.locator(".order-page tbody td.unit-price .sale")).to_have_text("$15.00")
    assert errors == []
