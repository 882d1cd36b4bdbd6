"""Reviews in Chromium: a shopper who bought the product rates it on its page, sees it listed with the
average and changes it; an agent hides it on /admin/reviews with a reason; the author sees the reason and
deletes the review; a shopper who did not buy the product gets no form."""

from __future__ import annotations

from typing import Any

from engage.platform.identity import Role
from tests.commerce.conftest import serving
from tests.conftest import PASSWORD
from tests.loyalty.conftest import buy, make_user, product, set_rules, test_rules


async def _signed_in(browser: Any, base: str, email: str, errors: list[str]) -> tuple[Any, Any]:
    context = await browser.new_context(base_url=base)
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    assert (await context.request.post("/api/auth/login", data={"email": email, "password": PASSWORD})).ok
    return context, page


async def test_a_buyer_reviews_a_product_and_an_agent_hides_it(browser, sqlite_client) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    app = sqlite_client
    await set_rules(app, test_rules())
    item = await product(app, price=2200)
    _, buyer_email, buyer = await make_user(app)
    _, stranger_email, _ = await make_user(app)
    _, agent_email, _ = await make_user(app, Role.agent)
    _, paid = await buy(app, buyer, item.variants[0].id)
    assert paid.json()["status"] == "paid", paid.text

    errors: list[str] = []
    async with serving(app.app) as base:
        context, page = await _signed_in(browser, base, stranger_email, errors)
        await page.goto(f"/products/{item.handle}")
        await expect(page.locator("[data-reviews-summary]")).to_have_text("No reviews yet.")
        await expect(page.locator("#review-form")).to_be_hidden()
        await context.close()

        context, page = await _signed_in(browser, base, buyer_email, errors)
        await page.goto(f"/products/{item.handle}")
        summary, form = page.locator("[data-reviews-summary]"), page.locator("#review-form")
        await expect(form).to_be_visible()
        await form.get_by_role("button", name="Post review").click()
        await expect(form.locator("[data-review-message]")).to_have_text("Choose a rating from 1 to 5 stars.")
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

        staff_context, staff = await _signed_in(browser, base, agent_email, errors)
        await staff.goto("/admin/reviews")
        row = staff.locator("#reviews tbody tr").filter(has_text=item.handle)
        await expect(row).to_contain_text("2 / 5")
        staff.once("dialog", lambda dialog: dialog.accept("names another shop"))
        await row.get_by_role("button", name="Hide").click()
        await expect(row.locator("[data-status]")).to_have_text("hidden: names another shop")
        await staff_context.close()

        await page.reload()
        await expect(summary).to_have_text("No reviews yet.")
        await expect(form.locator("[data-review-hidden-note]")).to_have_text(
            "Hidden by our team: names another shop."
        )
        await form.get_by_role("button", name="Delete my review").click()
        await expect(form.locator("[data-review-message]")).to_have_text("Your review is deleted.")
        await expect(form.get_by_role("heading")).to_have_text("Review this product")
        assert errors == []
        await context.close()
