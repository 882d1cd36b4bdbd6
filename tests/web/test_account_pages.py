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
    await page.locator("#profile-form").get_by_label("Name").fill("Kim Lee")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#account-message")).to_have_text("Saved.")
    await page.get_by_role("button", name="Sign out everywhere").click()
    await page.wait_for_url("**/login*")
    assert not errors, errors
    await context.close()


async def test_the_address_book_in_the_account_fills_checkout(browser, site, web_runtime) -> None:
    from playwright.async_api import expect

    from tests.commerce.conftest import make_product

    person = await make_person(web_runtime, Role.customer)
    async with web_runtime.sessionmaker() as s:
        product = await make_product(s, stock=[5], price=2000)
    context = await browser.new_context(base_url=site, viewport=PHONE)
    page = await context.new_page()
    errors = watch_errors(page)
    await sign_in(page, person, then="/account")
    book = page.locator("#address-book")
    await expect(book).to_contain_text("No saved addresses yet.")

    form = page.locator("#address-form")
    for label, street, default in (("home", "12 Elm Road", False), ("work", "400 Main Street", True)):
        await page.get_by_text("Add an address").click()
        await form.get_by_label("Name it").fill(label)
        await form.get_by_label("Full name").fill("Kim Lee")
        await form.get_by_label("Address", exact=True).fill(street)
        await form.get_by_label("City").fill("Springfield")
        await form.get_by_label("State / region").fill("il")
        await form.get_by_label("Postal code").fill("62701")
        await form.get_by_label("Country code").fill("us")
        await form.get_by_label("Make it my default").set_checked(default)
        await form.get_by_role("button", name="Save address").click()
        await expect(page.locator("#account-message")).to_have_text("Address saved.")
    entries = book.locator("li[data-address]")
    await expect(entries).to_have_count(2)
    await expect(entries.first).to_contain_text("work")  # the default comes first
    await expect(entries.first).to_contain_text("default")
    await expect(entries.nth(1)).to_contain_text("Kim Lee, 12 Elm Road, Springfield, IL 62701, US")
    await entries.nth(1).get_by_role("button", name="Make default").click()
    await expect(entries.first).to_contain_text("home")
    await entries.nth(1).get_by_role("button", name="Remove").click()
    await expect(entries).to_have_count(1)
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # checkout offers the book and fills the default into a checkout without an address
    await page.goto(f"/products/{product.handle}")
    await page.click("button[data-add]")
    await expect(page.locator("#cart-message")).to_contain_text("in your cart")
    await page.goto("/checkout")
    await expect(page.locator("#saved-addresses")).to_be_visible()
    await expect(page.locator('#details input[name="line1"]')).to_have_value("12 Elm Road")
    await page.locator("#saved-addresses").select_option(label="A new address")
    await expect(page.locator('#details input[name="line1"]')).to_have_value("")
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
