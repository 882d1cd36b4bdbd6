"""The account page as a shopper uses it, on a phone."""

from __future__ import annotations

from engage.platform.identity import Role
from tests.web.conftest import PHONE, make_person, sign_in, watch_errors


async def test_the_account_page_on_a_phone(browser, site, web_runtime) -> None:
    from playwright.async_api import expect

    person = await make_person(web_runtime, Role.customer, name="Kim")
    context = await browser.new_context(base_url=site, viewport=PHONE)
    page = await context.new_page()
    errors = watch_errors(page)
    await sign_in(page, person, then="/account")
    await expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    for link in ("Orders: track, cancel, return", "Notifications", "Your data: download or delete"):
        await expect(page.get_by_role("link", name=link)).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await page.get_by_label("Name").fill("Kim Lee")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#account-message")).to_have_text("Saved.")
    await page.get_by_role("button", name="Sign out everywhere").click()
    await page.wait_for_url("**/login*")
    assert not errors, errors
    await context.close()
