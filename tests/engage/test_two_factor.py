"""Staff two-factor sign-in (TOTP) on an app whose admins and marketers need it (ENGAGE_TWO_FACTOR_ROLES):
enrol with a QR code, confirm, sign in with a code, recovery codes, replay refused, a wrong code throttled,
and no staff power (API, pages, socket tokens, API tokens) without the second factor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pyotp
import pytest

from engage.app import create_app
from engage.platform.clock import utcnow
from engage.platform.identity import Role
from tests.conftest import PASSWORD, AppClient, running, settings_from, unique_email


@pytest.fixture(scope="module")
async def strict_app(prod_env: dict[str, str]) -> AsyncIterator[AppClient]:
    settings = settings_from({**prod_env, "ENGAGE_TWO_FACTOR_ROLES": "admin,marketer"})
    app = create_app(settings)
    async with running(app), AppClient(app, keep_cookies=False) as api:
        yield api


async def _person(api: AppClient, role: Role) -> str:
    email = unique_email(role.value)
    async with api.app.state.services.runtime.sessionmaker() as session:
        from engage.auth import create_user

        await create_user(session, email=email, password=PASSWORD, role=role)
    return email


async def _browser(api: AppClient) -> AppClient:
    browser = AppClient(api.app, keep_cookies=True)
    await browser.get("/api/auth/me")
    return browser


def _csrf(browser: AppClient) -> dict[str, str]:
    return {"x-csrftoken": browser.cookies.get("engage_csrf") or ""}


async def _login(browser: AppClient, email: str, otp: str | None = None) -> int:
    body = {"email": email, "password": PASSWORD, **({"otp": otp} if otp is not None else {})}
    return (await browser.post("/api/auth/login", json=body, headers=_csrf(browser))).status_code


def _code(secret: str, *, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=30 * steps_ahead))


async def test_an_admin_enrols_signs_in_with_a_code_and_only_then_uses_the_back_office(
    strict_app: AppClient,
) -> None:
    email = await _person(strict_app, Role.admin)
    browser = await _browser(strict_app)
    try:
        assert await _login(browser, email) == 200
        # signed in with a password only: the admin's powers wait for the second factor
        refused = await browser.get("/api/admin/staff")
        assert refused.status_code == 403 and refused.json()["code"] == "two_factor_required"
        page = await browser.get("/admin/catalog", headers={"accept": "text/html"})
        assert page.status_code == 403 and "/account/security" in page.text
        socket = await browser.post("/api/auth/socket-token", headers=_csrf(browser))
        assert socket.status_code == 403
        state = (await browser.get("/api/auth/two-factor")).json()
        assert state == {"on": False, "required": True, "this_session": False, "recovery_codes_left": 0}

        enrolment = (await browser.post("/api/auth/two-factor/enrol", headers=_csrf(browser))).json()
        assert enrolment["otpauth_uri"].startswith("otpauth://totp/") and "<svg" in enrolment["qr_svg"]
        secret = enrolment["secret"]
        wrong = await browser.post(
            "/api/auth/two-factor/confirm", json={"code": "000000"}, headers=_csrf(browser)
        )
        assert wrong.status_code == 401
        used = _code(secret)
        confirmed = await browser.post(
            "/api/auth/two-factor/confirm", json={"code": used}, headers=_csrf(browser)
        )
        assert confirmed.status_code == 200, confirmed.text
        recovery = confirmed.json()["recovery_codes"]
        assert len(recovery) == 10 and len(set(recovery)) == 10
        assert (await browser.get("/api/admin/staff")).status_code == 200  # this session gave the code

        # a new sign-in needs the code; the code just used is refused (one use per 30 s step)
        other = await _browser(strict_app)
        assert await _login(other, email) == 401
        # the very code confirmed (a 30 s step may have begun since: the current one would be new)
        assert await _login(other, email, used) == 401, "a code works once"
        assert await _login(other, email, _code(secret, steps_ahead=1)) == 200
        assert (await other.get("/api/admin/staff")).status_code == 200
        # a recovery code works once, in place of the app
        third = await _browser(strict_app)
        assert await _login(third, email, recovery[0]) == 200
        assert await _login(await _browser(strict_app), email, recovery[0]) == 401
        assert (await third.get("/api/auth/two-factor")).json()["recovery_codes_left"] == 9
        # the role needs it: it cannot be turned off
        off = await third.post("/api/auth/two-factor/off", json={"code": recovery[1]}, headers=_csrf(third))
        assert off.status_code == 403
        for b in (other, third):
            await b.aclose()
    finally:
        await browser.aclose()


async def test_api_tokens_of_roles_that_need_it_need_the_code(strict_app: AppClient) -> None:
    email = await _person(strict_app, Role.marketer)
    ask = {"email": email, "password": PASSWORD, "name": "ci"}
    refused = await strict_app.post("/api/auth/tokens", json=ask)
    assert refused.status_code == 403 and refused.json()["code"] == "two_factor_required"
    browser = await _browser(strict_app)
    assert await _login(browser, email) == 200
    secret = (await browser.post("/api/auth/two-factor/enrol", headers=_csrf(browser))).json()["secret"]
    await browser.post("/api/auth/two-factor/confirm", json={"code": _code(secret)}, headers=_csrf(browser))
    await browser.aclose()
    assert (await strict_app.post("/api/auth/tokens", json=ask)).status_code == 401
    made = await strict_app.post("/api/auth/tokens", json={**ask, "otp": _code(secret, steps_ahead=1)})
    assert made.status_code == 201
    token = made.json()["token"]
    campaigns = await strict_app.get("/api/marketing/campaigns", headers={"Authorization": f"Bearer {token}"})
    assert campaigns.status_code == 200


async def test_wrong_codes_count_towards_the_sign_in_throttle(strict_app: AppClient) -> None:
    email = await _person(strict_app, Role.agent)  # agents do not need it here, but may turn it on
    browser = await _browser(strict_app)
    assert await _login(browser, email) == 200
    assert (await browser.get("/api/chat/inbox")).status_code == 200
    secret = (await browser.post("/api/auth/two-factor/enrol", headers=_csrf(browser))).json()["secret"]
    await browser.post("/api/auth/two-factor/confirm", json={"code": _code(secret)}, headers=_csrf(browser))
    statuses = [await _login(browser, email, "123456") for _ in range(8)]
    assert statuses[0] == 401 and 429 in statuses, statuses  # 5 failures per account in 15 minutes
    await browser.aclose()


async def test_a_shop_without_the_setting_asks_nobody(client: AppClient, make_account) -> None:
    admin = await make_account(Role.admin)  # the suite's app: ENGAGE_TWO_FACTOR_ROLES=""
    assert (await client.get("/api/admin/staff", headers=admin.headers)).status_code == 200


async def test_an_admin_turns_it_on_in_the_browser_and_reaches_the_console(
    strict_app: AppClient, browser
) -> None:
    from playwright.async_api import expect

    from tests.commerce.conftest import serving

    email = await _person(strict_app, Role.admin)
    async with serving(strict_app.app) as site:
        context = await browser.new_context(base_url=site)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto("/login?next=/admin/catalog")
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url("**/admin/catalog")
        await expect(page.get_by_role("link", name="Turn it on, or enter a")).to_be_visible()

        await page.goto("/account/security")
        await page.get_by_role("button", name="Turn on two-factor sign-in").click()
        await expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
        secret = await page.locator("#tf-secret").text_content()
        assert secret
        await page.get_by_label("Code from the app").fill(_code(secret))
        await page.get_by_role("button", name="Confirm").first.click()
        await expect(page.locator("#tf-code-list li")).to_have_count(10)
        await expect(page.locator("#tf-state")).to_contain_text("On.")

        await page.goto("/admin/catalog")
        await expect(page.get_by_role("heading", level=1)).not_to_have_text("Not allowed")
        # signing in again asks for the code
        other = await (await browser.new_context(base_url=site)).new_page()
        await other.goto("/login?next=/admin/catalog")
        await other.get_by_label("Email").fill(email)
        await other.get_by_label("Password").fill(PASSWORD)
        await other.get_by_role("button", name="Sign in").click()
        code_box = other.get_by_label("Code from your authenticator app")
        await expect(code_box).to_be_visible()
        await code_box.fill(_code(secret, steps_ahead=1))
        await other.get_by_role("button", name="Sign in").click()
        await other.wait_for_url("**/admin/catalog")
        await context.close()
        assert not errors, errors
