"""A shopper in Chromium: browse, add to cart, check out with the test provider, see the order; and another
tab's stock figure follows the sale live (the page's data-stock-variant hook)."""

from __future__ import annotations

import os
import re

from commerce import inventory
from commerce.catalog.categories import slugify
from tests.commerce.conftest import make_product, serving


async def test_a_shopper_browses_buys_and_sees_the_order(browser, sqlite_client) -> None:
    from playwright.async_api import expect

    app = sqlite_client.app
    runtime = app.state.runtime
    shelf = f"Browser shelf {os.urandom(3).hex()}"
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=[6, 0], price=3450, category=shelf, subcategory="Kettles")
    variant = product.variants[0]

    async with serving(app) as base:
        shopper = await browser.new_context(base_url=base)
        watcher = await browser.new_context(base_url=base)
        errors: list[str] = []
        page = await shopper.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        # Browse: the shelf's listing, then the product page.
        await page.goto(f"/?category={slugify(shelf)}")
        card = page.locator(f'.product-card[data-product="{product.handle}"]')
        await expect(card).to_contain_text("$34.50")
        await card.locator("a.name").click()
        await expect(page.locator("h1")).to_have_text(product.name)

        other = await watcher.new_page()
        await other.goto(f"/products/{product.handle}")
        stock = other.locator(f'[data-stock-variant="{variant.id}"]')
        await expect(stock).to_have_text("6 in stock")

        # The sold-out variant cannot be chosen; the other goes into the cart.
        sold_out = page.locator(f'input[name="variant_id"][value="{product.variants[1].id}"]')
        await expect(sold_out).to_be_disabled()
        await page.fill('input[name="quantity"]', "2")
        await page.click("button[data-add]")
        await expect(page.locator("#cart-message")).to_contain_text("2 items in your cart")

        await page.goto("/cart")
        line = page.locator(f'tr[data-variant="{variant.id}"]')
        await expect(line).to_contain_text(product.name)
        await expect(page.locator("[data-cart-total]")).to_have_text("$69.00")
        await page.click("a[data-checkout]")

        # Checkout: address and shipping, the server's totals, then pay with the demo card.
        await expect(page.locator("#summary")).to_contain_text("held until")
        await page.fill('input[name="email"]', "browser@example.test")
        await page.fill('input[name="name"]', "Brow Ser")
        await page.fill('input[name="line1"]', "1 Market St")
        await page.fill('input[name="city"]', "San Francisco")
        await page.fill('input[name="region"]', "CA")
        await page.fill('input[name="postal_code"]', "94105")
        await page.fill('input[name="country"]', "US")
        await page.check('input[name="shipping_method"][value="standard"]')
        await page.click('#details button[type="submit"]')
        await expect(page.locator("#payment")).to_be_visible()
        # 69.00 + 5.00 shipping + 7.25% tax on 74.00 (5.365 -> 5.37)
        await expect(page.locator("#summary [data-total]")).to_have_text("$79.37")
        await page.click("button[data-pay]")

        await page.wait_for_url(re.compile(r"/orders/EN-[A-Z0-9]+\?paid=1$"))
        await expect(page.locator("[data-order-status]")).to_have_text("paid")
        await expect(page.locator(".order-page")).to_contain_text("Thank you")
        number = (await page.locator(".order-page").get_attribute("data-order")) or ""
        await page.goto("/orders")
        await expect(page.locator(f'tr[data-order="{number}"]')).to_contain_text("paid")

        # The other tab saw the stock fall without reloading.
        await expect(stock).to_have_text("Only 4 left")
        assert errors == []

    async with runtime.sessionmaker() as s:
        level = await inventory.get_level(s, variant.id)
        assert level is not None and (level.on_hand, level.reserved) == (4, 0)
