"""A marketer in Chromium (in New York time): signs in, plans a sale through the form (a price the server
refuses first, shown next to its field), publishes it, opens its live page and watches units left, claims,
conversion and revenue move while shoppers claim and pay over the HTTP API. PostgreSQL + Redis."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from engage.flash_sales.report import report
from engage.platform.identity import Role
from tests.commerce.conftest import Shopper, make_product, serving
from tests.conftest import PASSWORD

ZONE = "America/New_York"


def _local_input(moment: datetime) -> str:
    """What a person in New York types into a datetime-local field for `moment`."""
    return moment.astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%dT%H:%M")


async def test_a_marketer_plans_publishes_and_watches_a_sale_live(
    browser, client, runtime, make_account
) -> None:
    from playwright.async_api import expect

    marketer = await make_account(Role.marketer)
    buyers = [await make_account(Role.customer) for _ in range(3)]
    shelf = uuid.uuid4().hex[:8]
    async with runtime.sessionmaker() as session:
        product = await make_product(session, stock=[40], price=2500, tags=[shelf])
        other = await make_product(session, stock=[10], price=1200, tags=[shelf])
    variant = product.variants[0]
    name = f"Doorbuster {shelf}"
    starts = (datetime.now(UTC) - timedelta(minutes=2)).replace(second=0, microsecond=0)
    ends = starts + timedelta(hours=2)

    async with serving(client.app) as base:
        context = await browser.new_context(base_url=base, timezone_id=ZONE, locale="en-US")
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        # Signed out: the console sends the marketer to sign in, and back.
        await page.goto("/marketing")
        await page.wait_for_url("**/login**")
        await page.get_by_label("Email").fill(marketer.email)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url("**/marketing")
        await expect(page.locator("#sales-title")).to_have_text("Flash sales")

        # The form: name, times in New York time, the variant picked from a product search.
        await page.get_by_role("button", name="New sale").click()
        form = page.locator("#sale-form")
        await form.get_by_label("Name").fill(name)
        await form.locator('input[name="starts_at"]').fill(_local_input(starts))
        await form.locator('input[name="ends_at"]').fill(_local_input(ends))
        await form.get_by_label("Per-customer limit").fill("1")
        await page.locator("#product-query").fill(product.handle)
        await page.locator(f'#product-results li[data-handle="{product.handle}"]').click()
        await page.locator(f'#product-results button[data-sku="{variant.sku}"]').click()
        row = page.locator("#items tbody tr").first
        await expect(row.locator('input[name="sku"]')).to_have_value(variant.sku)
        await expect(row.locator(".variant-info")).to_contain_text("$25.00 regular")

        # A sale price above the regular one: the server's problem shows next to the price field.
        await row.get_by_label("Sale price (USD)").fill("30")
        await row.get_by_label("Units allotted").fill("5")
        await form.get_by_role("button", name="Publish").click()
        price_error = row.locator('[data-error-for="items.0.sale_price_cents"]')
        await expect(price_error).to_contain_text("below the regular")
        await expect(row.get_by_label("Sale price (USD)")).to_have_attribute("aria-invalid", "true")

        await row.get_by_label("Sale price (USD)").fill("19.99")
        await form.get_by_role("button", name="Publish").click()
        notice = page.locator("#sale-notice")
        await expect(notice).to_contain_text(f"“{name}” published")
        listed = page.locator("#sales tbody tr", has_text=name)
        await expect(listed.locator("[data-phase]")).to_have_text("live")
        local_start = starts.astimezone(ZoneInfo(ZONE)).strftime("%I:%M %p")
        await expect(listed.locator("time").first).to_contain_text(local_start)

        sale_id = int((await listed.get_attribute("data-sale")) or 0)
        async with runtime.sessionmaker() as session:
            stored = await report(session, sale_id)
        assert stored["status"] == "scheduled"
        assert datetime.fromisoformat(stored["starts_at"]) == starts  # typed in New York, stored in UTC
        assert datetime.fromisoformat(stored["ends_at"]) == ends
        assert [(i["variant_id"], i["sale_price_cents"], i["units_allotted"]) for i in stored["items"]] == [
            (variant.id, 1999, 5)
        ]

        # The live page.
        await notice.get_by_role("link", name="Open its live page").click()
        await page.wait_for_url(f"**/marketing/sales/{sale_id}")
        await expect(page.locator("#sale-name")).to_have_text(name)
        await expect(page.locator("#sale-phase")).to_have_text("live")
        await expect(page.locator("#countdown")).to_have_text(re.compile(r"^ends in 0?1:5\d:\d\d$"))
        await expect(page.locator("#connection")).to_have_text("live")
        units_left = page.locator(f'[data-units-left="{stored["items"][0]["item_id"]}"]')
        await expect(units_left).to_have_text("5")
        await expect(page.locator("#kpi-claims")).to_have_text("0")
        await expect(page.locator("#kpi-rate")).to_have_text("0.0")

        # Shoppers claim over the API: the page follows without reloading.
        for buyer in buyers[:2]:
            res = await client.post(
                f"/api/flash-sales/{sale_id}/claims", json={"variant_id": variant.id}, headers=buyer.headers
            )
            assert res.status_code == 201, res.text
        await expect(units_left).to_have_text("3")
        await expect(page.locator("#kpi-units-left")).to_have_text("3")
        await expect(page.locator("#kpi-claims")).to_have_text("2")
        await expect(page.locator("#kpi-rate")).not_to_have_text("0.0")
        await expect(page.locator("#kpi-conversion")).to_have_text("0.0%")
        await expect(page.locator("#kpi-claims-split")).to_have_text("2 held · 0 paid · 0 released")

        # One of them pays: conversion and revenue move.
        shopper = Shopper(client, headers=buyers[0].headers)
        checkout = await shopper.checkout()
        res = await shopper.pay(checkout["id"], expected_total_cents=checkout["total_cents"])
        assert res.status_code == 200, res.text
        await expect(page.locator("#kpi-conversion")).to_have_text("50.0%")
        await expect(page.locator("#kpi-revenue")).to_have_text("$19.99")
        await expect(page.locator("#kpi-claims-split")).to_have_text("1 held · 1 paid · 0 released")
        await expect(units_left).to_have_text("3")

        # A third claim, and the live page's refresh agrees with the database.
        res = await client.post(
            f"/api/flash-sales/{sale_id}/claims", json={"variant_id": variant.id}, headers=buyers[2].headers
        )
        assert res.status_code == 201, res.text
        await expect(units_left).to_have_text("2")
        await page.get_by_role("button", name="Refresh").click()
        await expect(page.locator("#reconciliation")).to_contain_text(
            "Units sold: 1; in paid orders: 1. They match"
        )
        await expect(units_left).to_have_text("2")
        await expect(page.locator("#kpi-claims")).to_have_text("3")

        # Back in the list: edit the live sale (its name and units; the start stays exactly as stored).
        await page.get_by_role("link", name="← Flash sales").click()
        listed = page.locator(f'#sales tbody tr[data-sale="{sale_id}"]')
        await listed.get_by_role("button", name="Edit").click()
        await expect(form.get_by_label("Name")).to_have_value(name)
        await expect(form.locator('input[name="starts_at"]')).to_have_value(_local_input(starts))
        await expect(row.get_by_label("Sale price (USD)")).to_have_value("19.99")
        await expect(row.get_by_label("Units allotted")).to_have_value("5")
        await form.get_by_label("Name").fill(f"{name} extended")
        await row.get_by_label("Units allotted").fill("8")
        await form.get_by_role("button", name="Save changes").click()
        await expect(page.locator("#sale-notice")).to_contain_text(f"“{name} extended” saved")
        await expect(listed.locator("td").first).to_have_text(f"{name} extended")
        async with runtime.sessionmaker() as session:
            edited = await report(session, sale_id)
        assert edited["name"] == f"{name} extended" and edited["stats"]["units_left"] == 5

        # A draft, its item typed by SKU, the default times (a quarter of an hour from now); published later.
        await page.get_by_role("button", name="New sale").click()
        await form.get_by_label("Name").fill(f"Later {shelf}")
        await row.get_by_label("SKU").fill(other.variants[0].sku)
        await row.get_by_label("Sale price (USD)").fill("9.5")
        await row.get_by_label("Units allotted").fill("3")
        await form.get_by_role("button", name="Save as draft").click()
        await expect(page.locator("#sale-notice")).to_contain_text(f"“Later {shelf}” saved as a draft")
        draft = page.locator("#sales tbody tr", has_text=f"Later {shelf}")
        await expect(draft.locator("[data-phase]")).to_have_text("draft")
        await draft.get_by_role("button", name="Publish").click()
        await expect(draft.locator("[data-phase]")).to_have_text("scheduled")
        draft_id = int((await draft.get_attribute("data-sale")) or 0)
        async with runtime.sessionmaker() as session:
            later = await report(session, draft_id)
        assert later["status"] == "scheduled" and later["phase"] == "upcoming"
        assert [(i["variant_id"], i["sale_price_cents"]) for i in later["items"]] == [
            (other.variants[0].id, 950)
        ]
        assert datetime.fromisoformat(later["starts_at"]) > datetime.now(UTC)

        # Cancel the live one from its page: the held units go back, live.
        await page.goto(f"/marketing/sales/{sale_id}")
        await expect(units_left).to_have_text("5")
        page.once("dialog", lambda dialog: dialog.accept())
        await page.get_by_role("button", name="Cancel sale").click()
        await expect(page.locator("#sale-phase")).to_have_text("cancelled")
        await expect(page.locator("#countdown")).to_have_text("cancelled")
        await expect(units_left).to_have_text("7")
        await expect(page.locator("#kpi-claims-split")).to_have_text("0 held · 1 paid · 2 released")
        await expect(page.locator("#cancel-sale")).to_be_hidden()
        assert errors == [], errors
