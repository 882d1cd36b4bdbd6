"""Product pictures without a network: a product that brings no photo gets one drawn here (its category's
colour and pictogram, its brand and name; the same bytes every time); the importer refers to it from the
product's images; cards, search tiles and the product page show it at a fixed size, cards lazily."""

from __future__ import annotations

import json
import uuid

from commerce.catalog.images import product_svg
from engage.platform.identity import Role
from tests.web.conftest import make_person, make_product, token_of, watch_errors


def _catalog(tag: str) -> bytes:
    def product(n: int, category: str, name: str) -> dict:
        return {
            "id": f"pic-{tag}-{n}",
            "name": name,
            "brand": "Brewline",
            "category": category,
            "variants": [{"sku": f"PIC-{tag}-{n}", "price_cents": 2500, "stock": 5}],
        }

    return json.dumps(
        [
            product(1, f"Kitchen & Coffee {tag}", f"Pour-over Kettle {tag}"),
            product(2, f"Odds {tag}", f'Gift <card> & "more" {tag}'),
        ]
    ).encode()


async def test_products_without_photos_get_drawn_pictures(browser, site, sqlite_client, web_runtime) -> None:
    from playwright.async_api import expect

    http = sqlite_client
    tag = uuid.uuid4().hex[:6]
    marketer = await make_person(web_runtime, Role.marketer)
    headers = await token_of(http, marketer)
    res = await http.post(
        "/api/admin/catalog/import", files={"file": ("catalog.json", _catalog(tag))}, headers=headers
    )
    assert res.status_code == 200 and not res.json()["problems"], res.text
    product = (await http.get(f"/api/admin/products/pic-{tag}-1", headers=headers)).json()
    assert product["images"] == [f"/media/products/pic-{tag}-1.svg"]

    # the picture: an SVG drawn from the product, the same bytes every time, the name escaped
    first = await http.get(f"/media/products/pic-{tag}-1.svg")
    assert first.status_code == 200 and first.headers["content-type"].startswith("image/svg+xml")
    assert first.text.startswith("<svg") and f"Pour-over Kettle {tag}" in first.text
    assert (await http.get(f"/media/products/pic-{tag}-1.svg")).content == first.content
    odd = (await http.get(f"/media/products/pic-{tag}-2.svg")).text
    assert "<card>" not in odd and "&lt;card&gt;" in odd
    assert product_svg("Mug", "Brewline", "Kitchen & Coffee") != product_svg(
        "Mug", "Brewline", "Toys & Games"
    )
    assert (await http.get("/media/products/no-such-product.svg")).status_code == 404

    # a product saved without images (not imported) is drawn too
    async with web_runtime.sessionmaker() as s:
        plain = await make_product(s, stock=[3], category=f"Kitchen & Coffee {tag}")

    page = await (await browser.new_context(base_url=site)).new_page()
    errors = watch_errors(page)
    await page.goto(f"/?tag=&category=kitchen-coffee-{tag}")
    cards = page.locator(".product-card")
    await expect(cards).to_have_count(2)
    for card in await cards.all():
        img = card.locator(".thumb img")
        assert await img.get_attribute("loading") == "lazy"
        assert (await img.get_attribute("width"), await img.get_attribute("height")) == ("400", "300")
        await img.scroll_into_view_if_needed()
        await expect(img).to_have_js_property("complete", True)
        assert await img.evaluate("(i) => i.naturalWidth") > 0
    assert await page.locator(".placeholder").count() == 0

    await page.goto(f"/products/{plain.handle}")
    picture = page.locator(".gallery img")
    await expect(picture).to_have_attribute("src", f"/media/products/{plain.handle}.svg")
    await expect(picture).to_have_attribute("alt", plain.name)
    assert (await picture.get_attribute("width"), await picture.get_attribute("height")) == ("800", "600")
    await expect(picture).to_have_js_property("complete", True)
    assert await picture.evaluate("(i) => i.naturalWidth") == 800
    assert errors == []
