"""Flash sales in Chromium: a sale published while product pages are open appears on them; its countdown
runs on the server's clock (the tabs' own clocks are set minutes wrong) and the sale price appears at zero
without a reload; units left fall live as other shoppers claim; a signed-in shopper claims from the page and
checks out at the sale price; the limit and sold-out states are explained; a guest is sent to sign in."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from typing import Any

import pytest

from commerce.catalog.categories import slugify
from engage.flash_sales.claims import source_of
from tests.commerce.conftest import make_product, serving
from tests.conftest import PASSWORD, api_token
from tests.flash_sales.conftest import make_sale, make_shoppers

# Date.now() of a tab whose clock is wrong by `skew` ms (the server's clock must win).
SKEWED_CLOCK = """(() => {
  const real = Date.now.bind(Date);
  Date.now = () => real() + (%d);
})();"""


async def _context(browser: Any, base: str, skew_ms: int) -> Any:
    context = await browser.new_context(base_url=base)
    await context.add_init_script(SKEWED_CLOCK % skew_ms)
    return context


async def _claim_over_http(client: Any, email: str, sale_id: int, variant_id: int) -> Any:
    return await client.post(
        f"/api/flash-sales/{sale_id}/claims",
        json={"variant_id": variant_id},
        headers={"Authorization": f"Bearer {await api_token(client, email)}"},
    )


@pytest.fixture(params=["embedded", "production"])
def any_client(request: pytest.FixtureRequest) -> Any:
    """The app on SQLite with in-memory channels, and on PostgreSQL + Redis behind the claim gate."""
    return request.getfixturevalue("sqlite_client" if request.param == "embedded" else "client")


async def test_a_flash_sale_counts_down_opens_and_is_claimed_from_the_storefront(browser, any_client) -> None:
    from playwright.async_api import expect

    http = any_client
    app = any_client.app
    runtime = app.state.runtime
    shelf = f"Flash shelf {os.urandom(3).hex()}"
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=[20], price=2500, category=shelf)
    variant = product.variants[0].id
    me, other, third, last = await make_shoppers(runtime, 4)
    assert me.email and other.email and third.email and last.email

    async with serving(app) as base:
        # A guest whose clock is 10 minutes slow, and a shopper whose clock is 7 minutes fast.
        watcher = await _context(browser, base, -10 * 60_000)
        shopper = await _context(browser, base, 7 * 60_000)
        errors: list[str] = []
        guest_page = await watcher.new_page()
        guest_page.on("pageerror", lambda exc: errors.append(str(exc)))
        page = await shopper.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        await page.goto(f"/login?next=/products/{product.handle}")
        await page.fill('input[name="email"]', me.email)
        await page.fill('input[name="password"]', PASSWORD)
        await page.click('#login-form button[type="submit"]')
        await page.wait_for_url(re.compile(rf"/products/{product.handle}$"))
        await guest_page.goto(f"/products/{product.handle}")
        for tab in (page, guest_page):
            await expect(tab.locator(f'[data-stock-variant="{variant}"]')).to_have_text("20 in stock")
            assert await tab.locator("[data-flash-box]").is_hidden(), "no sale yet"
            await tab.evaluate("() => { window.notReloaded = true; }")

        # Marketing publishes a sale starting in a few seconds: the open pages show it without a reload.
        sale_id = await make_sale(
            runtime, [variant], units=4, price=1500, limit=1, starts_in=timedelta(seconds=10)
        )
        box = page.locator("[data-flash-box]")
        row = box.locator(f'[data-flash-item="{variant}"]')
        claim = row.locator("button[data-claim]")
        await expect(box.locator("[data-flash-status]")).to_have_text("Starts in")
        await expect(box.locator("[data-flash-countdown]")).to_have_text(re.compile(r"^00:(0\d|10)$"))
        await expect(claim).to_be_disabled()
        await expect(row.locator("[data-flash-price]")).to_be_hidden()
        await expect(row.locator("[data-flash-units]")).to_have_text("Only 4 left")

        # The home page's banner counts down too.
        home = await watcher.new_page()
        home.on("pageerror", lambda exc: errors.append(str(exc)))
        await home.goto(f"/?category={slugify(shelf)}")
        banner = home.locator(f'[data-flash-sales] [data-flash-sale="{sale_id}"]')
        await expect(banner.locator("[data-flash-status]")).to_have_text("Starts in")
        await expect(banner).to_contain_text(product.name)

        # At zero, by the server's clock, the sale price appears everywhere.
        for tab in (page, guest_page, home):
            where = tab.locator(f'[data-flash-sale="{sale_id}"]')
            await expect(where.locator(f'[data-flash-item="{variant}"] [data-flash-price]')).to_have_text(
                "$15.00", timeout=30_000
            )
            await expect(where.locator("[data-flash-status]")).to_have_text("Ends in")
            await expect(where.locator("[data-flash-countdown]")).to_have_text(
                re.compile(r"^(59:\d\d|1:00:00)$")
            )
        await expect(
            home.locator(f'.product-card[data-product="{product.handle}"] [data-flash-badge]')
        ).to_have_text("Flash $15.00")
        await expect(claim).to_be_enabled()
        guest_claim = guest_page.locator(f'[data-flash-item="{variant}"] button[data-claim]')
        await expect(guest_claim).to_have_text("Sign in to claim")

        # Another shopper claims over HTTP: units left and stock fall on every open page.
        res = await _claim_over_http(http, other.email, sale_id, variant)
        assert res.status_code == 201, res.text
        for tab in (page, guest_page):
            await expect(tab.locator(f'[data-flash-item="{variant}"] [data-flash-units]')).to_have_text(
                "Only 3 left"
            )
            await expect(tab.locator(f'[data-stock-variant="{variant}"]')).to_have_text("19 in stock")
        await expect(banner.locator(f'[data-flash-item="{variant}"] [data-flash-units]')).to_have_text(
            "Only 3 left"
        )

        # The signed-in shopper claims from the page and lands on checkout with the held unit at the sale price.
        await claim.click()
        await page.wait_for_url(re.compile(r"/checkout"))
        summary = page.locator("#summary")
        await expect(summary).to_contain_text("held until")
        await expect(summary).to_contain_text(f"Flash sale #{sale_id}")
        line = summary.locator(f'li[data-product="{product.handle}"]')
        await expect(line).to_contain_text("$15.00")
        await expect(guest_page.locator(f'[data-flash-item="{variant}"] [data-flash-units]')).to_have_text(
            "Only 2 left"
        )

        # Back on the product page, the box knows the unit is held for this shopper (the limit is 1): it
        # offers to check out, not a second claim.
        await page.goto(f"/products/{product.handle}")
        await expect(claim).to_have_text("Check out")
        await expect(box.locator("[data-flash-note]")).to_contain_text("A unit is held for you")

        # The last units go: sold out, live, on every page.
        res = await _claim_over_http(http, third.email, sale_id, variant)
        assert res.status_code == 201, res.text
        res = await _claim_over_http(http, last.email, sale_id, variant)
        assert res.status_code == 201, res.text
        for tab in (page, guest_page):
            units = tab.locator(f'[data-flash-item="{variant}"] [data-flash-units]')
            await expect(units).to_have_text("Sold out")
        await expect(guest_claim).to_be_disabled()
        await expect(guest_claim).to_have_text("Sold out")
        await expect(claim).to_have_text("Check out")  # one of those units is this shopper's
        await expect(claim).to_be_enabled()
        res = await _claim_over_http(http, me.email, sale_id, variant)
        assert res.status_code == 409 and res.json()["code"] in ("sold_out", "limit_reached")

        assert await guest_page.evaluate("() => window.notReloaded === true"), "no reload happened"
        assert errors == []

    async with runtime.sessionmaker() as s:
        from commerce import inventory

        holds = [h for h in await inventory.holds_from(s, source_of(sale_id)) if h.variant_id == variant]
        assert len(holds) == 4, "four units held for four shoppers, not one more"


async def test_a_guest_is_sent_to_sign_in_to_claim(browser, sqlite_client) -> None:
    from playwright.async_api import expect

    app = sqlite_client.app
    runtime = app.state.runtime
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=[5], price=2000)
    variant = product.variants[0].id
    await make_sale(runtime, [variant], units=2, price=1200)
    async with serving(app) as base:
        page = await (await browser.new_context(base_url=base)).new_page()
        await page.goto(f"/products/{product.handle}")
        button = page.locator(f'[data-flash-item="{variant}"] button[data-claim]')
        await expect(button).to_have_text("Sign in to claim")
        await expect(page.locator(f'[data-flash-item="{variant}"] [data-flash-price]')).to_have_text("$12.00")
        await button.click()
        await page.wait_for_url(re.compile(r"/login\?next=%2Fproducts%2F" + re.escape(product.handle) + "$"))


async def test_the_sale_price_goes_when_a_sale_ends_or_is_cancelled(browser, sqlite_client) -> None:
    from playwright.async_api import expect

    from engage.flash_sales import schedule

    app = sqlite_client.app
    runtime = app.state.runtime
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=[5, 5], price=2000)
    ending, cancelled = (v.id for v in product.variants)
    short = await make_sale(runtime, [ending], units=2, price=1100, lasts=timedelta(seconds=15))
    long = await make_sale(runtime, [cancelled], units=2, price=1300)
    async with serving(app) as base:
        page = await (await browser.new_context(base_url=base)).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"/products/{product.handle}")
        first = page.locator(f'[data-flash-sale="{short}"]')
        second = page.locator(f'[data-flash-sale="{long}"]')
        await expect(first.locator("[data-flash-price]")).to_have_text("$11.00")
        await expect(second.locator("[data-flash-price]")).to_have_text("$13.00")

        async with runtime.sessionmaker() as s:  # marketing stops the second sale
            await schedule.cancel(s, long)
        await expect(second.locator("[data-flash-status]")).to_have_text("This flash sale was cancelled")
        await expect(second.locator("[data-flash-price]")).to_be_hidden()
        await expect(second.locator("button[data-claim]")).to_be_hidden()
        await expect(first.locator("[data-flash-price]")).to_have_text("$11.00")

        await expect(first.locator("[data-flash-status]")).to_have_text(
            "This flash sale has ended", timeout=30_000
        )
        await expect(first.locator("[data-flash-price]")).to_be_hidden()
        await expect(first.locator("button[data-claim]")).to_be_hidden()
        assert errors == []


async def test_the_home_banner_shows_a_sale_the_moment_it_is_published(browser, sqlite_client) -> None:
    from playwright.async_api import expect

    from engage.flash_sales import schedule

    app = sqlite_client.app
    runtime = app.state.runtime
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=[5], price=2000)
    draft = await make_sale(runtime, [product.variants[0].id], units=3, price=1500, publish=False)
    async with serving(app) as base:
        page = await (await browser.new_context(base_url=base)).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto("/")
        banner = page.locator(f'[data-flash-sales] [data-flash-sale="{draft}"]')
        # the page has the listing channel's snapshot (a draft is never on it)
        await page.wait_for_function(
            """async () => {
                const { realtime } = await import('/static/js/realtime.js');
                const listing = realtime._channels.get('flash-sales');
                return Boolean(listing && listing.live);
            }"""
        )
        await expect(banner).to_have_count(0)

        async with runtime.sessionmaker() as s:  # marketing publishes it: no reload, no polling
            await schedule.publish(s, draft)
        await expect(banner).to_contain_text(product.name, timeout=5_000)
        await expect(
            banner.locator(f'[data-flash-item="{product.variants[0].id}"] [data-flash-price]')
        ).to_have_text("$15.00")

        async with runtime.sessionmaker() as s:
            await schedule.cancel(s, draft)
        await expect(banner.locator("[data-flash-status]")).to_have_text("This flash sale was cancelled")
        assert errors == []


async def test_a_sold_out_banner_item_leads_to_notify_me_or_the_regular_price(browser, sqlite_client) -> None:
    from playwright.async_api import expect

    app = sqlite_client.app
    runtime = app.state.runtime
    async with runtime.sessionmaker() as s:  # the last unit of one variant, and plenty of another
        product = await make_product(s, stock=[1, 9], price=2000)
    last, plenty = (v.id for v in product.variants)
    sale_id = await make_sale(runtime, [last, plenty], units=1, price=1500)
    first, second = await make_shoppers(runtime, 2)
    assert first.email and second.email
    for who, variant in ((first, last), (second, plenty)):
        claimed = await _claim_over_http(sqlite_client, who.email, sale_id, variant)
        assert claimed.status_code == 201, claimed.text
    async with serving(app) as base:
        page = await (await browser.new_context(base_url=base)).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto("/")
        banner = page.locator(f'[data-flash-sales] [data-flash-sale="{sale_id}"]')
        gone = banner.locator(f'[data-flash-item="{last}"] [data-flash-after]')
        still = banner.locator(f'[data-flash-item="{plenty}"] [data-flash-after]')
        await expect(gone).to_have_text("Notify me when it is back")
        await expect(still).to_have_text("Buy at the regular price")
        await expect(still).to_have_attribute("href", f"/products/{product.handle}")

        await gone.click()
        form = page.locator("#stock-alert")
        await expect(form).to_be_visible()
        await expect(page.locator("#stock-alert-variant")).to_have_value(str(last))
        await expect(form.locator("input[name=email]")).to_be_focused()
        assert errors == []
