"""Reviews on the product page in Chromium: a shopper who bought the product rates it and writes why, sees
it listed with the average, changes it, and deletes it; a shopper who did not buy it gets no form."""

from __future__ import annotations

from tests.commerce.conftest import serving
from tests.conftest import PASSWORD
from tests.loyalty.conftest import buy, make_user, product, set_rules, test_rules


async def test_a_buyer_reviews_a_product_on_its_page(browser, sqlite_client) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    app = sqlite_client
    await set_rules(app, test_rules())
    item = await product(app, price=2200)
    _, buyer_email, buyer = await make_user(app)
    _, stranger_email, _ = await make_user(app)
    _, paid = await buy(app, buyer, item.variants[0].id)
    assert paid.json()["status"] == "paid", paid.text

    errors: list[str] = []
    async with serving(app.app) as base:
        for email in (stranger_email, buyer_email):
            context = await browser.new_context(base_url=base)
            page = await context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            assert (
                await context.request.post("/api/auth/login", data={"email": email, "password": PASSWORD})
            ).ok
            await page.goto(f"/products/{item.handle}")
            summary = page.locator("[data-reviews-summary]")
            await expect(summary).to_have_text("No reviews yet.")
            form = page.locator("#review-form")
            if email == stranger_email:
                await expect(form).to_be_hidden()
                await context.close()
                continue

            await expect(form).to_be_visible()
            await form.get_by_role("button", name="Post review").click()
            await expect(form.locator("[data-review-message]")).to_have_text(
                "Choose a rating from 1 to 5 stars."
            )
            await form.get_by_label("4 stars").check()
            await form.get_by_label("Title").fill("Sturdy")
            await form.get_by_label("Your review").fill("Survived a week of rain.")
            await form.get_by_role("button", name="Post review").click()
            await expect(summary).to_have_text("4.0 out of 5 · 1 review")
            listed = page.locator("[data-reviews-list] li")
            await expect(listed).to_have_count(1)
            await expect(listed.first).to_contain_text("Survived a week of rain.")
            await expect(listed.first).to_contain_text("verified purchase")

            await page.reload()
            await expect(form.get_by_label("4 stars")).to_be_checked()
            await form.get_by_label("2 stars").check()
            await form.get_by_role("button", name="Post review").click()
            await expect(summary).to_have_text("2.0 out of 5 · 1 review")
            await form.get_by_role("button", name="Delete my review").click()
            await expect(summary).to_have_text("No reviews yet.")
            await expect(listed).to_have_count(0)
            assert errors == []
            await context.close()
