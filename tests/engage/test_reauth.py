"""Sensitive staff actions ask a browser session to confirm it's the owner (password, and the code with
two-factor sign-in on) within ten minutes; API tokens are not asked again. Admins choose which staff roles
need two-factor sign-in, and every node follows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import delete

from engage.auth import security
from engage.auth.middleware import policy_of
from engage.auth.models import SecuritySettings
from engage.platform.identity import Role
from tests.conftest import PASSWORD, AppClient


async def _browser_of(client: AppClient, email: str) -> AppClient:
    browser = AppClient(client.app, keep_cookies=True)
    await browser.get("/api/auth/me")
    res = await browser.post(
        "/api/auth/login", json={"email": email, "password": PASSWORD}, headers=_csrf(browser)
    )
    assert res.status_code == 200, res.text
    return browser


def _csrf(browser: AppClient) -> dict[str, str]:
    return {"x-csrftoken": browser.cookies.get("engage_csrf") or ""}


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Move the re-authentication clock forward by what the test puts in it (seconds)."""
    shift = [0.0]
    real = security.now
    monkeypatch.setattr(security, "now", lambda: real() + shift[0])
    yield shift


@pytest.fixture
async def clean_choices(client: AppClient) -> Iterator[None]:
    yield
    async with client.app.state.runtime.sessionmaker() as s:  # the suite's database is shared
        await s.execute(delete(SecuritySettings))
        await s.commit()
    policy_of(client.app.state.runtime).forget()


async def test_a_session_confirms_its_password_before_a_sensitive_action_and_a_token_is_not_asked(
    client: AppClient, make_account, later: list[float]
) -> None:
    admin, agent = await make_account(Role.admin), await make_account(Role.agent)
    browser = await _browser_of(client, admin.email)
    grant = {"allowed": True, "limit_cents": 5000}
    url = f"/api/admin/staff/{agent.id}/refunds"
    # just signed in: confirmed
    assert (await browser.put(url, json=grant, headers=_csrf(browser))).status_code == 200
    later[0] = security.REAUTH_SECONDS + 1
    stale = await browser.put(url, json=grant, headers=_csrf(browser))
    assert stale.status_code == 403 and stale.json()["code"] == "reauth_required"
    assert (await browser.get("/api/admin/audit/export.csv")).status_code == 403
    wrong = await browser.post(
        "/api/auth/reauthenticate", json={"password": "not-it-at-all"}, headers=_csrf(browser)
    )
    assert wrong.status_code == 401
    assert (await browser.put(url, json=grant, headers=_csrf(browser))).status_code == 403
    res = await browser.post("/api/auth/reauthenticate", json={"password": PASSWORD}, headers=_csrf(browser))
    assert res.status_code == 204
    assert (await browser.put(url, json=grant, headers=_csrf(browser))).json()["refund_limit_cents"] == 5000
    assert (await browser.get("/api/admin/audit/export.csv")).status_code == 200
    # an API token was made with the password (and code): not asked again
    assert (await client.put(url, json={"allowed": False}, headers=admin.headers)).status_code == 200
    # a guest or a shopper has nothing to confirm
    shopper = await make_account(Role.customer)
    assert (await client.put(url, json=grant, headers=shopper.headers)).status_code == 403
    await browser.aclose()


async def test_an_admin_chooses_the_roles_that_need_two_factor_sign_in(
    client: AppClient, make_account, clean_choices: None
) -> None:
    admin, agent = await make_account(Role.admin), await make_account(Role.agent)
    assert (await client.get("/api/admin/staff", headers=agent.headers)).status_code == 403
    agent_browser = await _browser_of(client, agent.email)
    assert (await agent_browser.get("/api/staff/orders")).status_code == 200
    choices = (await client.get("/api/admin/security", headers=admin.headers)).json()
    assert choices["two_factor_roles"] == [] and choices["choosable"] == ["admin", "agent", "marketer"]

    bad = await client.put(
        "/api/admin/security", json={"two_factor_roles": ["customer"]}, headers=admin.headers
    )
    assert bad.status_code == 422
    assert (
        await client.put("/api/admin/security", json={"two_factor_roles": ["agent"]}, headers=agent.headers)
    ).status_code == 403
    res = await client.put("/api/admin/security", json={"two_factor_roles": ["agent"]}, headers=admin.headers)
    assert res.json()["two_factor_roles"] == ["admin", "agent"]  # admins always
    # the agent's session without a code loses the staff doors at once (this node)
    refused = await agent_browser.get("/api/staff/orders")
    assert refused.status_code == 403 and refused.json()["code"] == "two_factor_required"
    state = (await agent_browser.get("/api/auth/two-factor")).json()
    assert state["required"] is True
    await agent_browser.aclose()


async def test_two_first_choices_at_once_both_land(
    client: AppClient, make_account, clean_choices: None
) -> None:
    import asyncio

    admin = await make_account(Role.admin)
    answers = await asyncio.gather(
        *(
            client.put("/api/admin/security", json={"two_factor_roles": roles}, headers=admin.headers)
            for roles in (["agent"], ["marketer"], [])
        )
    )
    assert [a.status_code for a in answers] == [200, 200, 200]
    final = (await client.get("/api/admin/security", headers=admin.headers)).json()["two_factor_roles"]
    assert final in ([a.json()["two_factor_roles"] for a in answers])
    too_long = await client.put(
        "/api/admin/security", json={"two_factor_roles": ["x" * 1000]}, headers=admin.headers
    )
    assert too_long.status_code == 400
