"""A marketer in Chromium composes a push campaign (with its preview and the live audience count), sends
it to the loopback push service, and watches its figures move on the campaign's page."""

from __future__ import annotations

from typing import Any

import pytest

from engage.platform.identity import Role
from engage.services import Services
from tests.commerce.conftest import serving
from tests.push.conftest import audience, eventually, make_users
from tests.push.push_service import PushService
from tests.web.conftest import sign_in


@pytest.fixture
def mode() -> str:
    return "embedded"  # jobs run in the app's own process: the page sees the send happen


async def test_a_marketer_composes_sends_and_watches_a_campaign(
    browser: Any, app: Any, push_services: Services, push_service: PushService
) -> None:
    from playwright.async_api import expect

    people = await audience(push_services, push_service, 5)
    ids = {push_service.id_of(d["endpoint"]) for p in people for d in p.devices}
    [marketer] = await make_users(push_services, 1, Role.marketer)
    async with serving(app) as site:
        context = await browser.new_context(base_url=site)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await sign_in(page, marketer, then="/marketing/campaigns")
        await page.get_by_role("button", name="New campaign").click()
        await page.get_by_label("Title", exact=True).fill("Winter sale")
        await page.get_by_label("Message", exact=True).fill("Parkas at half price until midnight")
        await page.get_by_label("First button").fill("Shop now")
        for platform in ("chrome", "firefox", "android"):
            preview = page.locator(f"[data-preview={platform}]")
            await expect(preview).to_contain_text("Winter sale")
            await expect(preview).to_contain_text("Shop now")
        await expect(page.locator("#audience-count")).to_contain_text(" devices of ")
        await page.get_by_role("button", name="Create and send").click()
        await page.wait_for_url("**/marketing/campaigns/*")

        await eventually(lambda: len([d for d in push_service.deliveries if d.subscription_id in ids]) >= 5)
        got = [d for d in push_service.deliveries if d.subscription_id in ids]
        assert {d.json["title"] for d in got} == {"Winter sale"} and len(got) == 5
        accepted = page.locator("#figures tr[data-version=All] td").nth(1)
        await expect(accepted).to_have_text("5", timeout=20_000)  # the live frames moved it
        await expect(page.locator("#campaign-status")).to_have_text("sent", timeout=20_000)
        await expect(page.locator("#history li").first).to_be_visible()
        await context.close()
        assert not errors, errors
