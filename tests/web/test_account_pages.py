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


async def test_a_shopper_returns_a_line_and_staff_receive_and_refund_it(
    browser, site, web_runtime, app
) -> None:
    from playwright.async_api import expect

    from tests.commerce.conftest import make_product
    from tests.web.conftest import buy, token_of

    shopper, agent, admin = (
        await make_person(web_runtime, Role.customer),
        await make_person(web_runtime, Role.agent),
        await make_person(web_runtime, Role.admin),
    )
    async with web_runtime.sessionmaker() as s:
        product = await make_product(s, stock=5, price=2500)
    from tests.conftest import AppClient

    async with AppClient(app, keep_cookies=False) as http:
        number = await buy(http, shopper, product.variants[0].id)
        staff = await token_of(http, admin)
        assert (
            await http.post(f"/api/staff/orders/{number}/ship", json={"tracking_number": "1Z"}, headers=staff)
        ).status_code == 200
        assert (await http.post(f"/api/staff/orders/{number}/deliver", headers=staff)).status_code == 200
        grant = {"allowed": True}
        assert (
            await http.put(f"/api/admin/staff/{agent.id}/refunds", json=grant, headers=staff)
        ).status_code == 200

    context = await browser.new_context(base_url=site, viewport=PHONE)
    page = await context.new_page()
    errors = watch_errors(page)
    await sign_in(page, shopper, then=f"/orders/{number}")
    await page.get_by_text("Return items").click()
    await page.get_by_label(f"How many {product.name} to return").fill("1")
    await page.get_by_label("Why (optional)").fill("too big")
    await page.get_by_role("button", name="Ask to return").click()
    await expect(page.locator("#return-list li").first).to_contain_text("requested")
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    desk = await (await browser.new_context(base_url=site)).new_page()
    await sign_in(desk, agent, then="/admin/returns")
    await desk.get_by_role("button", name="Received").first.click()
    await expect(desk.locator("#returns-message")).to_contain_text("received and refunded")
    await page.reload()
    await page.get_by_text("Return items").click()
    await expect(page.locator("#return-list li").first).to_contain_text("refunded")
    assert not errors, errors
    await context.close()
