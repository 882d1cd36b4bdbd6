"""The catalog grid: staff edit a product's name, prices, stock and images in place, across the width of the
screen; a price typed wrong is explained, and an edit over someone else's newer save reloads the row instead
of overwriting it."""

from __future__ import annotations

import pytest

from engage.platform.identity import Role
from tests.web.conftest import DESKTOP, PHONE, make_person, make_product, sign_in, token_of, watch_errors


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_staff_edit_prices_stock_and_images_in_place(
    browser, site, sqlite_client, web_runtime, viewport
) -> None:
    from playwright.async_api import expect

    async with web_runtime.sessionmaker() as s:
        product = await make_product(s, stock=[3], price=1200)
    handle, variant = product.handle, product.variants[0]
    marketer = await make_person(web_runtime, Role.marketer, "Mo")
    headers = await token_of(sqlite_client, marketer)

    async def stored() -> dict:
        return (await sqlite_client.get(f"/api/admin/products/{handle}", headers=headers)).json()

    page = await (await browser.new_context(base_url=site, viewport=viewport)).new_page()
    errors = watch_errors(page)
    await sign_in(page, marketer, then="/admin/catalog")
    async with page.expect_response(lambda r: f"q={handle}" in r.url):
        await page.locator("#product-search").fill(handle)
    row = page.locator(f'#products tr[data-handle="{handle}"]')

    name = row.get_by_label(f"Name of {handle}")
    await name.fill("Enamel mug, blue")
    await name.press("Enter")
    await expect(row.locator(".row-status")).to_have_text("Saved")
    assert (await stored())["name"] == "Enamel mug, blue"

    await row.get_by_role("button", name="1 variant").click()
    detail = page.locator("#products .detail-row")
    price = detail.get_by_label(f"Price of {variant.sku}", exact=True)
    await price.fill("9,5O")  # a letter O for a zero
    await price.press("Enter")
    await expect(price).to_have_attribute("aria-invalid", "true")
    await expect(row.locator(".row-status")).to_contain_text("like 29.99")
    await price.fill("9.50")
    await price.press("Enter")
    await expect(row.locator(".from")).to_have_text("$9.50")
    await expect(price).not_to_have_attribute("aria-invalid", "true")

    on_hand = detail.get_by_label(f"On hand of {variant.sku}")
    await on_hand.fill("7")
    await on_hand.press("Enter")
    await expect(detail.locator(".variant-available")).to_have_text("7")
    await expect(row.locator(".row-status")).to_have_text("Saved")

    await detail.get_by_label("Add an image to Enamel mug, blue").fill(f"/media/products/{handle}.svg")
    await detail.get_by_role("button", name="Add image").click()
    await expect(detail.locator(".image-strip img")).to_have_count(len(product.images) + 1)
    saved = await stored()
    assert (saved["variants"][0]["price_cents"], saved["variants"][0]["on_hand"]) == (950, 7)
    assert saved["images"][-1] == f"/media/products/{handle}.svg"

    # someone else saves the product; an edit from this grid's older version reloads the row, overwrites nothing
    res = await sqlite_client.patch(
        f"/api/admin/products/{handle}",
        json={"updated_at": saved["updated_at"], "name": "Renamed elsewhere"},
        headers=headers,
    )
    assert res.status_code == 200, res.text
    price = page.locator("#products .detail-row").get_by_label(f"Price of {variant.sku}", exact=True)
    await price.fill("8.00")
    await price.press("Enter")
    fresh = page.locator(f'#products tr[data-handle="{handle}"]')
    await expect(fresh.locator(".row-status")).to_have_text("Changed elsewhere: reloaded")
    await expect(fresh.get_by_label(f"Name of {handle}")).to_have_value("Renamed elsewhere")
    assert (await stored())["variants"][0]["price_cents"] == 950

    # the grid takes the screen's width, and nothing is wider than the screen
    scroll, inner = await page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert scroll <= inner, f"the catalog is {scroll} px wide on a {inner} px screen"
    grid = await page.locator("#products").bounding_box()
    assert grid and grid["width"] >= 0.8 * inner - 64, (grid, inner)
    assert errors == []
