"""Checkout in Chromium: an empty form shows every missing field at once, each message in words next to its
field (never a raw key such as "address.name"); what only the server refuses lands next to its field too;
a corrected form goes on to payment."""

from __future__ import annotations

from tests.web.conftest import make_product, watch_errors

FIELDS = {
    "email": "Enter your email address",
    "name": "recipient's full name",
    "line1": "street address",
    "city": "city or town",
    "postal_code": "postal code",
    "country": "two-letter country code",
}


async def test_every_invalid_field_is_named_next_to_it(browser, site, web_runtime) -> None:
    from playwright.async_api import expect

    async with web_runtime.sessionmaker() as s:
        product = await make_product(s, stock=[5], price=2000)
    page = await (await browser.new_context(base_url=site)).new_page()
    errors = watch_errors(page)
    await page.goto(f"/products/{product.handle}")
    await page.click("button[data-add]")
    await expect(page.locator("#cart-message")).to_contain_text("in your cart")
    await page.goto("/checkout")
    await expect(page.locator("#summary")).to_contain_text("held until")

    await page.get_by_role("button", name="Save and update totals").click()
    for name, words in FIELDS.items():
        field = page.locator(f'#details input[name="{name}"]')
        await expect(field).to_have_attribute("aria-invalid", "true")
        await expect(page.locator(f'[data-error-for="{name}"]')).to_contain_text(words)
    await expect(page.locator("#details-summary")).to_have_text(
        "Please check these 6 fields: Email, Full name, Address, City, Postal code, Country code."
    )
    await expect(page.locator('#details input[name="email"]')).to_be_focused()
    assert "address." not in await page.locator("#checkout").inner_text()
    assert await page.locator('[data-error-for="line2"]').is_hidden()  # optional, and fine

    # fixed fields lose their message; what only the server refuses is shown next to its field
    await page.get_by_label("Email").fill("x" * 70 + "@example.test")  # a local part over 64 characters
    await page.get_by_label("Full name").fill("Casey Shopper")
    await page.get_by_label("Address", exact=True).fill("1 Lincoln Ave")
    await page.get_by_label("City").fill("Springfield")
    await page.get_by_label("State / region").fill("IL")
    await page.get_by_label("Postal code").fill("62701")
    await page.get_by_label("Country code").fill("us")
    await page.get_by_role("button", name="Save and update totals").click()
    await expect(page.locator('[data-error-for="email"]')).to_have_text("Enter a valid email address.")
    await expect(page.locator('[data-error-for="name"]')).to_be_hidden()
    await expect(page.locator("#details-summary")).to_have_text("Please check Email.")

    # a value the page lets through but the server's schema refuses is mapped to its field as well
    await page.get_by_label("Email").fill("casey@example.test")
    await page.locator('#details input[name="name"]').evaluate("(n) => n.removeAttribute('maxlength')")
    await page.get_by_label("Full name").fill("C" * 130)
    await page.get_by_role("button", name="Save and update totals").click()
    await expect(page.locator('[data-error-for="name"]')).to_contain_text("up to 120 characters")
    await expect(page.locator('[data-error-for="email"]')).to_be_hidden()

    await page.get_by_label("Full name").fill("Casey Shopper")
    await page.get_by_role("button", name="Save and update totals").click()
    await expect(page.locator("#payment")).to_be_visible()
    await expect(page.locator("#details-summary")).to_be_hidden()
    assert errors == []
