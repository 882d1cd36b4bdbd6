"""Every page fits a phone (390 x 844: nothing wider than the screen) and still fits a laptop (1366 x 900):
the storefront signed in (a long account name) and out, the product, search, cart, checkout, orders and
order pages, the agent console with a conversation open, the marketing console with its editor, the staff
catalog. On a phone the header's search box is usable, and the home page's filters fold behind a button
so the flash sale and the first products are on the first screen."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from engage.platform.identity import Role
from tests.flash_sales.conftest import make_sale
from tests.web.conftest import (
    DESKTOP,
    PHONE,
    buy,
    make_person,
    make_product,
    sign_in,
    token_of,
    watch_errors,
)

WIDTHS = "() => [document.documentElement.scrollWidth, window.innerWidth]"


async def _fits(page: Any, path: str, viewport: dict[str, int]) -> None:
    from playwright.async_api import expect

    await page.goto(path)
    await expect(page.locator("main")).to_be_visible()
    await page.wait_for_load_state("networkidle")
    scroll, inner = await page.evaluate(WIDTHS)
    assert inner == viewport["width"]
    assert scroll <= inner, f"{path} is {scroll} px wide on a {inner} px screen"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_no_page_is_wider_than_the_screen(browser, site, sqlite_client, web_runtime, viewport) -> None:
    from playwright.async_api import expect

    http = sqlite_client
    tag = uuid.uuid4().hex[:6]
    async with web_runtime.sessionmaker() as s:
        product = await make_product(s, stock=[30, 30], price=4900, category=f"Layout {tag}")
    variant = product.variants[0].id
    await make_sale(web_runtime, [product.variants[1].id], units=5, price=2900)
    shopper = await make_person(web_runtime, Role.customer, "Alexandra Montgomery-Richardson of Springfield")
    admin = await make_person(web_runtime, Role.admin, "Maximilian Alexander Administrator")
    number = await buy(http, shopper, variant)
    as_shopper = await token_of(http, shopper)
    res = await http.post("/api/cart/lines", json={"variant_id": variant, "quantity": 2}, headers=as_shopper)
    assert res.status_code in (200, 201), res.text
    res = await http.post(
        "/api/chat/conversations",
        json={
            "text": f"Where is my order {number}? https://example.com/a/very/long/link/{tag * 8}",
            "human": True,
        },
        headers=as_shopper,
    )
    conversation = res.json()["conversation"]["id"]

    storefront = [
        "/",
        f"/products/{product.handle}",
        "/search?q=test+product",
        "/cart",
        "/checkout",
        "/orders",
        f"/orders/{number}",
        "/no/such/page",
        "/help",
    ]
    guest = await (await browser.new_context(base_url=site, viewport=viewport)).new_page()
    errors = watch_errors(guest)
    for path in storefront:
        await _fits(guest, path, viewport)

    page = await (await browser.new_context(base_url=site, viewport=viewport)).new_page()
    errors += watch_errors(page)
    await sign_in(page, shopper)
    for path in storefront:
        await _fits(page, path, viewport)

    staff = await (await browser.new_context(base_url=site, viewport=viewport)).new_page()
    errors += watch_errors(staff)
    await sign_in(staff, admin)
    for path in [f"/console?conversation={conversation}", "/console/bot", "/marketing", "/admin/catalog"]:
        await _fits(staff, path, viewport)
    await staff.goto(f"/console?conversation={conversation}")
    await expect(staff.locator("#messages")).to_contain_text("Where is my order")
    scroll, inner = await staff.evaluate(WIDTHS)
    assert scroll <= inner, f"the console is {scroll} px wide on a {inner} px screen"
    await staff.goto("/marketing")
    await staff.get_by_role("button", name="New sale").click()
    await staff.locator("#product-query").fill(product.handle)
    await staff.locator(f'#product-results li[data-handle="{product.handle}"]').click()
    await staff.locator(f'#product-results button[data-sku="{product.variants[0].sku}"]').click()
    await expect(staff.locator("#items tbody tr")).to_have_count(1)
    scroll, inner = await staff.evaluate(WIDTHS)
    assert scroll <= inner, f"the sale editor is {scroll} px wide on a {inner} px screen"
    assert errors == []


async def test_a_phone_has_a_usable_header_and_the_shop_first(browser, site, web_runtime) -> None:
    from playwright.async_api import expect

    async with web_runtime.sessionmaker() as s:
        product = await make_product(s, stock=[10], price=3900)
    sale = await make_sale(web_runtime, [product.variants[0].id], units=3, price=1900)
    shopper = await make_person(web_runtime, Role.customer, "Bartholomew Featherstonehaugh-Worthington")
    page = await (await browser.new_context(base_url=site, viewport=PHONE)).new_page()
    errors = watch_errors(page)
    await sign_in(page, shopper)
    await page.goto("/")

    box = await page.locator(".topbar .search-box input").bounding_box()
    assert box is not None and box["width"] >= 200, box
    who = await page.locator(".topbar .who").bounding_box()
    assert who is not None and who["x"] + who["width"] <= PHONE["width"]

    # the filters fold behind a button: the flash sale and the first products are on the first screen
    toggle = page.get_by_role("button", name="Filters and sort")
    await expect(toggle).to_be_visible()
    await expect(page.locator("#shop-filters")).to_be_hidden()
    banner = page.locator(f'[data-flash-sales] [data-flash-sale="{sale}"]')
    await expect(banner).to_be_visible()
    panel = await page.locator("aside.filters").bounding_box()
    assert panel is not None and panel["height"] < 100, panel
    sales = await page.locator("[data-flash-sales]").bounding_box()
    card = await page.locator(".product-card").first.bounding_box()
    assert sales is not None and card is not None
    assert sales["y"] < 400, sales  # the flash sales start on the first screen...
    assert card["y"] - (sales["y"] + sales["height"]) < 40, (sales, card)  # ...the products right after them
    await toggle.click()
    await expect(page.locator("#shop-filters")).to_be_visible()
    await expect(toggle).to_have_attribute("aria-expanded", "true")
    await page.get_by_label("Sort").select_option("price_asc")
    await page.wait_for_url("**/?sort=price_asc")
    assert errors == []
