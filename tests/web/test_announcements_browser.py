"""Site announcements from the marketing console, in Chromium: a marketer posts one (text, style, how long);
an open storefront tab shows it at once; the marketer ends it early and it leaves that tab, live."""

from __future__ import annotations

import uuid

from engage.platform.identity import Role
from tests.web.conftest import DESKTOP, PHONE, make_person, sign_in, token_of, watch_errors


async def test_a_marketer_posts_and_ends_an_announcement(browser, site, sqlite_client, web_runtime) -> None:
    from playwright.async_api import expect

    tag = uuid.uuid4().hex[:6]
    marketer = await make_person(web_runtime, Role.marketer, f"Mo {tag}")
    shopper_tab = await (await browser.new_context(base_url=site, viewport=PHONE)).new_page()
    console = await (await browser.new_context(base_url=site, viewport=DESKTOP)).new_page()
    errors = watch_errors(shopper_tab) + watch_errors(console)
    await shopper_tab.goto("/")
    await shopper_tab.evaluate("() => { window.notReloaded = true; }")

    await sign_in(console, marketer, then="/marketing")
    panel = console.locator("#announce")
    await panel.get_by_role("button", name="Post announcement").click()
    await expect(panel.locator('[data-error-for="text"]')).to_have_text("Write the announcement first.")

    text = f"Free shipping on everything today {tag}"
    await panel.get_by_label("Text").fill(text)
    await expect(panel.locator("#announce-text-count")).to_have_text(f"{280 - len(text)} characters left")
    await panel.get_by_label("Style").select_option("promo")
    await panel.get_by_label("Shown for").select_option("180")
    await panel.get_by_role("button", name="Post announcement").click()
    await expect(panel.locator("#announce-status")).to_contain_text("Posted")
    running = panel.locator(".running-announcement", has_text=text)
    await expect(running).to_be_visible()
    await expect(running.locator(".badge")).to_have_text("Promotion")
    await expect(panel.get_by_label("Text")).to_have_value("")

    banner = shopper_tab.locator("#announcements .announcement", has_text=text)
    await expect(banner).to_be_visible()
    await expect(banner).to_have_class("announcement promo")

    # only marketing may end one
    announcement_id = await running.get_attribute("data-announcement")
    customer = await make_person(web_runtime, Role.customer)
    res = await sqlite_client.post(
        f"/api/announcements/{announcement_id}/end", headers=await token_of(sqlite_client, customer)
    )
    assert res.status_code == 403, res.text

    await running.get_by_role("button", name="End now").click()
    await expect(running).to_have_count(0)
    await expect(banner).to_have_count(0)  # gone from the open tab, no reload
    assert await shopper_tab.evaluate("() => window.notReloaded === true")
    res = await sqlite_client.get("/api/announcements")
    assert all(a["text"] != text for a in res.json())
    assert errors == []
