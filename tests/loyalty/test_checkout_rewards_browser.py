"""Points and store credit on the checkout page in Chromium: the points line comes off before tax (the tax
shown is on what is paid for), the credit after it; the card is charged the rest and the order page shows
the same lines in the same order."""

from __future__ import annotations

import re

from tests.commerce.conftest import serving
from tests.conftest import PASSWORD
from tests.loyalty.conftest import member

CHECKOUT_URL = re.compile(r"/api/checkout/([\w-]+)")


def _money(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


async def test_points_before_tax_and_credit_after_it_on_the_checkout_page(browser, sqlite_client) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    app = sqlite_client
    item, _, _, email, _ = await member(app, price=3000, points=1000, credit=700)

    async with serving(app.app) as base:
        context = await browser.new_context(base_url=base)
        errors: list[str] = []
        page = await context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        asked: list[str] = []  # the checkout the page works on, from its own requests
        page.on("request", lambda r: asked.extend(CHECKOUT_URL.findall(r.url)))
        assert (await context.request.post("/api/auth/login", data={"email": email, "password": PASSWORD})).ok
        await page.goto(f"/products/{item.handle}")
        await page.click("button[data-add]")
        await expect(page.locator("#cart-message")).to_contain_text("in your cart")
        await page.goto("/checkout")
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Full name").fill("Casey Shopper")
        await page.get_by_label("Address", exact=True).fill("1 Market St")
        await page.get_by_label("City").fill("San Francisco")
        await page.get_by_label("State / region").fill("CA")
        await page.get_by_label("Postal code").fill("94105")
        await page.get_by_label("Country code").fill("US")
        await page.get_by_role("button", name="Save and update totals").click()
        await expect(page.locator("#payment")).to_be_visible()

        await page.get_by_label("Points to use").fill("500")
        await page.get_by_role("button", name="Use points").click()
        totals = page.locator("#summary dl.totals dt")
        await expect(totals).to_have_text(["Subtotal", "500 points", "Shipping", "Tax", "Total"])
        await page.get_by_label("Use my store credit").check()
        await expect(totals).to_have_text(
            ["Subtotal", "500 points", "Shipping", "Tax", "Store credit", "Total"]
        )

        shown = await (await context.request.get(f"/api/checkout/{asked[-1]}")).json()
        taxable = shown["subtotal_cents"] - shown["discount_cents"] + shown["shipping_cents"] - 500
        assert shown["tax_cents"] == (taxable * 725 + 5_000) // 10_000 > 0
        assert shown["total_cents"] == taxable + shown["tax_cents"] - 700
        tax = page.locator("#summary dl.totals dd").nth(3)
        await expect(tax).to_have_text(_money(shown["tax_cents"]))
        await expect(page.locator("[data-total]")).to_have_text(_money(shown["total_cents"]))

        await page.click("button[data-pay]")
        await page.wait_for_url("**/orders/*")
        lines = page.locator(".order-page dl.totals dt")
        await expect(lines).to_have_text(
            ["Subtotal", "500 points", re.compile("^Shipping"), "Tax", "Store credit", "Total"]
        )
        assert errors == []
        await context.close()
