"""The back office in Chromium: an admin refunds part of an order and ships the rest from its page; a
marketer watches today's revenue move while an order is placed; the stock room receives units of a
low variant; the pages fit a phone; shoppers get the 403 page."""

from __future__ import annotations

import re

import pytest

from engage.platform.identity import Role
from tests.commerce.conftest import Shopper
from tests.web.conftest import DESKTOP, PHONE, buy, make_person, make_product, sign_in, token_of, watch_errors


async def test_an_admin_refunds_a_line_and_ships_the_rest(browser, site, sqlite_client, web_runtime) -> None:
    from playwright.async_api import expect

    async with web_runtime.sessionmaker() as s:
        product = await make_product(s, stock=[10, 10], price=2500)
    buyer = await make_person(web_runtime, Role.customer, "Bea")
    admin = await make_person(web_runtime, Role.admin, "Ada")
    shopper = Shopper(sqlite_client, await token_of(sqlite_client, buyer))
    for variant in product.variants:
        assert (await shopper.add(variant.id)).status_code in (200, 201)
    checkout = await shopper.checkout(email=buyer.email)
    number = (await shopper.pay(checkout["id"])).json()["order_number"]

    page = await (await browser.new_context(base_url=site, viewport=DESKTOP)).new_page()
    errors = watch_errors(page)
    await sign_in(page, admin, then="/admin/orders")
    await page.get_by_label("Number, email or product").fill(buyer.email)
    await page.get_by_role("button", name="Search").click()
    await page.get_by_role("link", name=number).click()
    await expect(page.locator("#order-status")).to_have_text("paid")

    first_line = page.locator("#order-lines tbody tr").first
    await first_line.locator(".refund-qty").fill("1")
    await page.get_by_label("Put the refunded lines' units back in stock").check()
    await page.get_by_label("Reason").fill("Arrived scratched")
    await page.get_by_role("button", name="Refund selected lines").click()
    await expect(page.locator("#order-message")).to_have_text("Refunded the selected lines.")
    await expect(page.locator("#order-status")).to_have_text("partially refunded")
    await expect(first_line.locator('[data-label="Returned"]')).to_have_text("1")

    await page.get_by_label("Carrier").fill("DHL")
    await page.get_by_label("Tracking number").fill("JD0001")
    await page.get_by_role("button", name="Ship").click()
    await expect(page.locator("#fulfil-state")).to_have_text("Shipped with DHL, tracking JD0001")
    await page.get_by_label("Note for staff").fill("Sent the scratched one back to the supplier")
    await page.get_by_role("button", name="Add note").click()
    await expect(page.locator("#order-timeline")).to_contain_text(
        "Sent the scratched one back to the supplier"
    )

    order = (
        await sqlite_client.get(f"/api/staff/orders/{number}", headers=await token_of(sqlite_client, admin))
    ).json()
    assert order["status"] == "shipped" and order["tracking_number"] == "JD0001"
    assert order["refunded_cents"] == 2500 and [line["returned_quantity"] for line in order["lines"]] == [
        1,
        0,
    ]
    assert errors == []


async def test_todays_revenue_moves_on_the_dashboard_without_a_reload(
    browser, site, sqlite_client, web_runtime
) -> None:
    from playwright.async_api import expect

    async with web_runtime.sessionmaker() as s:
        product = await make_product(s, stock=[10], price=9900)
    marketer = await make_person(web_runtime, Role.marketer, "Mo")
    buyer = await make_person(web_runtime, Role.customer, "Bo")
    page = await (await browser.new_context(base_url=site, viewport=DESKTOP)).new_page()
    errors = watch_errors(page)
    await sign_in(page, marketer, then="/marketing/analytics")
    await expect(page.locator("#connection")).to_have_text("live")
    await expect(page.locator("#tile-orders")).not_to_have_text("—")
    before = int(await page.locator("#tile-orders").inner_text())
    revenue_before = await page.locator("#tile-revenue").inner_text()
    await page.evaluate("window.notReloaded = true")

    await buy(sqlite_client, buyer, product.variants[0].id)

    await expect(page.locator("#tile-orders")).to_have_text(str(before + 1))
    await expect(page.locator("#tile-revenue")).not_to_have_text(revenue_before)
    assert await page.evaluate("window.notReloaded") is True
    assert await page.locator("#sales-chart").is_visible()
    await expect(page.locator("#sales-csv")).to_have_attribute(
        "href", re.compile(r"/sales\.csv\?from=\d{4}-\d\d-\d\d&to=")
    )
    # the period again, with the order just paid: the funnel's last step counts its buyer
    await page.get_by_role("button", name="Show").click()
    paid = page.locator("#funnel-steps tbody tr", has_text="Paid")
    await expect(page.locator("#funnel-steps tbody tr")).to_have_count(4)
    await expect(paid.locator("td").nth(1)).not_to_have_text("0")
    assert await page.locator("#funnel-chart").is_visible()
    assert errors == []


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_the_stock_room_receives_units_of_a_low_variant(
    browser, site, sqlite_client, web_runtime, viewport
) -> None:
    from playwright.async_api import expect

    async with web_runtime.sessionmaker() as s:
        product = await make_product(s, stock=[2], price=1500, threshold=5)
    variant = product.variants[0]
    admin = await make_person(web_runtime, Role.admin, "Ada")
    page = await (await browser.new_context(base_url=site, viewport=viewport)).new_page()
    errors = watch_errors(page)
    await sign_in(page, admin, then="/admin/stock")
    await page.get_by_role("tab", name="Low").click()
    await page.get_by_label("Product or SKU").fill(variant.sku)
    await page.get_by_role("button", name="Show").click()
    row = page.locator(f'#stock tr[data-variant="{variant.id}"]')
    await expect(row.locator('[data-label="Available"]')).to_have_text("2")
    scroll, inner = await page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert scroll <= inner, f"the stock room is {scroll} px wide on a {inner} px screen"
    await row.get_by_role("button", name="Stock…").click()
    dialog = page.locator("#stock-dialog")
    await dialog.get_by_label("Units").fill("10")
    await dialog.get_by_label("Reason").fill("PO 77")
    await dialog.get_by_role("button", name="Save").click()
    await expect(page.locator("#stock-message")).to_contain_text("12 on hand, 12 available")
    await expect(row).to_have_count(0)  # no longer low
    ledger = await sqlite_client.get(
        f"/api/admin/variants/{variant.id}/ledger", headers=await token_of(sqlite_client, admin)
    )
    assert ledger.json()[0]["kind"] == "restock" and ledger.json()[0]["note"] == "PO 77"
    assert errors == []


async def test_customers_and_their_page_for_an_agent_and_403_for_a_shopper(
    browser, site, sqlite_client, web_runtime
) -> None:
    from playwright.async_api import expect

    async with web_runtime.sessionmaker() as s:
        product = await make_product(s, stock=[5], price=1200)
    buyer = await make_person(web_runtime, Role.customer, "Cid Customer")
    agent = await make_person(web_runtime, Role.agent, "Al")
    await buy(sqlite_client, buyer, product.variants[0].id)
    page = await (await browser.new_context(base_url=site, viewport=PHONE)).new_page()
    errors = watch_errors(page)
    await sign_in(page, agent, then="/admin/customers")
    await page.get_by_label("Email or name").fill(buyer.email)
    await page.get_by_role("button", name="Search").click()
    await page.get_by_role("link", name="Cid Customer").click()
    await expect(page.locator("#customer-name")).to_have_text("Cid Customer")
    await expect(page.locator("#customer-facts")).to_contain_text("Paid orders1")
    await expect(page.locator("#customer-orders tbody tr")).to_have_count(1)
    scroll, inner = await page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert scroll <= inner, f"the customer page is {scroll} px wide on a {inner} px screen"
    assert errors == []

    shopper_page = await (await browser.new_context(base_url=site)).new_page()
    await sign_in(shopper_page, buyer)
    for path in (
        "/admin/orders",
        "/admin/customers",
        "/admin/stock",
        "/marketing/analytics",
        "/admin/orders/X1",
    ):
        answer = await shopper_page.goto(path)
        assert answer is not None and answer.status == 403, path


async def test_an_admin_acts_on_a_pending_erasure_from_the_customers_page(
    browser, site, sqlite_client, web_runtime
) -> None:
    from playwright.async_api import expect

    from engage.auth import privacy

    leaving = await make_person(web_runtime, Role.customer, "Lee Leaving")
    admin = await make_person(web_runtime, Role.admin, "Ada")
    async with web_runtime.sessionmaker() as s:
        request = await privacy.request_erasure(s, leaving.id)
    page = await (await browser.new_context(base_url=site, viewport=DESKTOP)).new_page()
    errors = watch_errors(page)
    page.on("dialog", lambda dialog: dialog.accept())
    await sign_in(page, admin, then="/admin/customers")
    item = page.locator("#privacy-pending li", has_text=f"Customer {leaving.id}")
    await expect(item).to_be_visible()
    await item.get_by_role("button", name="Erase now").click()
    await expect(item).to_have_count(0)
    async with web_runtime.sessionmaker() as s:
        [done] = [r for r in await privacy.mine(s, leaving.id) if r.id == request.id]
    assert done.status == "done" and done.done_by == f"user:{admin.id}"
    assert errors == []


async def test_a_sold_out_search_result_opens_its_notify_me(
    browser, site, sqlite_client, web_runtime
) -> None:
    from playwright.async_api import expect

    async with web_runtime.sessionmaker() as s:
        product = await make_product(s, stock=[0])
    page = await (await browser.new_context(base_url=site)).new_page()
    errors = watch_errors(page)
    tile = page.locator(f'.product-tile[data-handle="{product.handle}"]')
    for _ in range(50):  # the product's words reach the index within moments of its save
        await page.goto(f"/search?q={product.handle}")
        if await tile.count():
            break
        await page.wait_for_timeout(200)
    await expect(tile).to_contain_text("Out of stock · Notify me")
    await tile.click()
    await page.wait_for_url(f"**/products/{product.handle}#stock-alert")
    form = page.locator("#stock-alert")
    await expect(form).to_be_visible()
    await expect(form.get_by_label("Email")).to_be_focused()
    assert errors == []
