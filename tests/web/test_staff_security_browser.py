"""The admin's staff and security page in Chromium: a sensitive change made long after signing in asks for the
password in a dialog and then goes through; cancelling it changes nothing; roles that need two-factor
sign-in and an agent's refund limit are saved."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import delete

from engage.auth import security
from engage.auth.middleware import policy_of
from engage.auth.models import SecuritySettings
from engage.platform.identity import Role
from tests.conftest import PASSWORD
from tests.web.conftest import DESKTOP, make_person, sign_in, token_of, watch_errors


@pytest.fixture
async def clean_choices(web_runtime) -> AsyncIterator[None]:
    yield
    async with web_runtime.sessionmaker() as s:  # the suite's database is shared
        await s.execute(delete(SecuritySettings))
        await s.commit()
    policy_of(web_runtime).forget()


async def test_a_late_change_asks_for_the_password_then_saves(
    browser, site, sqlite_client, web_runtime, monkeypatch: pytest.MonkeyPatch, clean_choices: None
) -> None:
    from playwright.async_api import expect

    admin = await make_person(web_runtime, Role.admin, "Ada")
    agent = await make_person(web_runtime, Role.agent, "Al")
    page = await (await browser.new_context(base_url=site, viewport=DESKTOP)).new_page()
    errors = watch_errors(page)
    await sign_in(page, admin, then="/admin/staff")
    marketers = page.get_by_label("Marketers")
    await expect(page.get_by_label("Admins")).to_be_checked()
    await expect(page.locator(f'#staff tr[data-staff="{agent.id}"]')).to_be_visible()

    real = security.now
    monkeypatch.setattr(security, "now", lambda: real() + security.REAUTH_SECONDS + 60)  # eleven minutes on
    row = page.locator(f'#staff tr[data-staff="{agent.id}"]')
    await row.get_by_label(f"{agent.email} may refund").check()
    await row.get_by_label(f"Refund limit of {agent.email}").fill("25.00")
    await row.get_by_role("button", name="Save").click()
    dialog = page.get_by_role("dialog", name="Confirm it's you")
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(page.locator("#staff-error")).to_have_text("Not confirmed: nothing was done.")
    headers = await token_of(sqlite_client, admin)

    async def grant() -> list[tuple[bool, int | None]]:
        staff = (await sqlite_client.get("/api/admin/staff", headers=headers)).json()
        return [(m["can_refund"], m["refund_limit_cents"]) for m in staff if m["id"] == agent.id]

    assert await grant() == [(False, None)]

    await row.get_by_role("button", name="Save").click()
    await dialog.get_by_label("Password").fill("not the password")
    await dialog.get_by_role("button", name="Confirm").click()
    await expect(dialog.get_by_role("alert")).not_to_be_empty()
    await dialog.get_by_label("Password").fill(PASSWORD)
    await dialog.get_by_role("button", name="Confirm").click()
    await expect(row.get_by_role("status")).to_have_text("Saved.")
    await expect(dialog).to_have_count(0)
    assert await grant() == [(True, 2500)]

    # confirmed just now: the next sensitive change goes straight through
    await marketers.check()
    await page.get_by_role("button", name="Save").first.click()
    await expect(page.locator("#tf-roles-status")).to_have_text("Saved.")
    chosen = (await sqlite_client.get("/api/admin/security", headers=headers)).json()
    assert chosen["two_factor_roles"] == ["admin", "marketer"]  # admins always, once an admin chooses
    assert errors == []
