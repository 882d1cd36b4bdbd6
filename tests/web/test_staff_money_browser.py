"""Staff type and read prices in currency units: the catalog editor takes "12.34" and sends 1234 (parsed as
text, never a float), shows stored prices as "12.34", and explains a wrong amount next to its field; its
variants fit the editor, also on a phone; the flash-sale editor's refusal names the regular price in the
shop's currency, not in cents."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from engage.platform.identity import Role
from tests.web.conftest import DESKTOP, PHONE, make_person, make_product, sign_in, token_of, watch_errors


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_the_catalog_editor_speaks_currency_units(
    browser, site, sqlite_client, web_runtime, viewport
) -> None:
    from playwright.async_api import expect

    marketer = await make_person(web_runtime, Role.marketer, "Mo")
    handle = f"money-{uuid.uuid4().hex[:8]}"
    page = await (await browser.new_context(base_url=site, viewport=viewport)).new_page()
    errors = watch_errors(page)
    await sign_in(page, marketer, then="/admin/catalog")
    await page.get_by_role("button", name="New product").click()
    form = page.locator("#product-form")
    await form.get_by_label("Handle").fill(handle)
    await form.get_by_label("Name").fill("Enamel mug")
    card = form.locator(".variant-card").first
    await card.get_by_label("SKU").fill(f"SKU-{handle}")
    await card.get_by_label("Price (USD)").fill("12.345")
    await card.get_by_label("Compare-at (USD)").fill("9.99")
    await form.get_by_role("button", name="Save").click()
    await expect(card.locator('[data-error-for="price"]')).to_have_text("Enter the price in USD, like 29.99.")
    await expect(card.get_by_label("Price (USD)")).to_have_attribute("aria-invalid", "true")

    await card.get_by_label("Price (USD)").fill("12.34")
    await form.get_by_role("button", name="Save").click()
    await expect(card.locator('[data-error-for="compare_at"]')).to_have_text(
        "The compare-at price must be above the price."
    )
    await card.get_by_label("Compare-at (USD)").fill("19.99")
    await form.get_by_role("button", name="Save").click()
    await expect(page.locator("#editor-status")).to_have_text("Saved.")

    res = await sqlite_client.get(
        f"/api/admin/products/{handle}", headers=await token_of(sqlite_client, marketer)
    )
    variant = res.json()["variants"][0]
    assert (variant["price_cents"], variant["compare_at_cents"]) == (1234, 1999)
    card = page.locator("#product-form .variant-card").first
    await expect(card.get_by_label("Price (USD)")).to_have_value("12.34")
    await expect(card.get_by_label("Compare-at (USD)")).to_have_value("19.99")
    await expect(page.locator(f'#products tr[data-handle="{handle}"]')).to_contain_text("$12.34")
    assert "¢" not in await page.locator("#editor").inner_text()

    # the variants fit: nothing wider than the screen, inputs wide enough to read, "Remove" in view
    await page.get_by_role("button", name="Add variant").click()
    scroll, inner = await page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert scroll <= inner, f"the product editor is {scroll} px wide on a {inner} px screen"
    editor = await page.locator("#editor").bounding_box()
    for card in await page.locator("#product-form .variant-card").all():
        price = await card.get_by_label("Price (USD)").bounding_box()
        sku = await card.get_by_label("SKU").bounding_box()
        remove = await card.get_by_role("button", name="Remove variant").bounding_box()
        assert price and sku and remove and editor
        assert price["width"] >= 100 and sku["width"] >= 140, (price, sku)
        assert remove["x"] + remove["width"] <= editor["x"] + editor["width"], (remove, editor)
    assert errors == []


async def test_the_flash_sale_refusal_names_the_regular_price_in_dollars(
    browser, site, sqlite_client, web_runtime
) -> None:
    from playwright.async_api import expect

    async with web_runtime.sessionmaker() as s:
        product = await make_product(s, stock=[20], price=29900)
    variant = product.variants[0]
    marketer = await make_person(web_runtime, Role.marketer, "Mo")
    starts = datetime.now(UTC) + timedelta(hours=1)
    res = await sqlite_client.post(
        "/api/marketing/flash-sales",
        json={
            "name": "Too dear",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=1)).isoformat(),
            "items": [{"variant_id": variant.id, "sale_price_cents": 30000, "units": 1}],
        },
        headers=await token_of(sqlite_client, marketer),
    )
    assert res.status_code == 422, res.text
    assert res.json()["detail"].endswith("must be below the regular price of $299.00"), res.text
    assert "cents" not in res.json()["detail"]

    page = await (await browser.new_context(base_url=site)).new_page()
    errors = watch_errors(page)
    await sign_in(page, marketer, then="/marketing")
    await page.get_by_role("button", name="New sale").click()
    form = page.locator("#sale-form")
    await form.get_by_label("Name").fill("Too dear")
    await form.locator('input[name="starts_at"]').fill(starts.strftime("%Y-%m-%dT%H:%M"))
    await form.locator('input[name="ends_at"]').fill((starts + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    await page.locator("#product-query").fill(product.handle)
    await page.locator(f'#product-results li[data-handle="{product.handle}"]').click()
    await page.locator(f'#product-results button[data-sku="{variant.sku}"]').click()
    row = page.locator("#items tbody tr").first
    await row.get_by_label("Sale price (USD)").fill("300")
    await row.get_by_label("Units allotted").fill("1")
    await form.get_by_role("button", name="Save as draft").click()
    message = row.locator('[data-error-for="items.0.sale_price_cents"]')
    await expect(message).to_contain_text("below the regular price of $299.00")
    assert "cents" not in await message.inner_text()
    assert errors == []
