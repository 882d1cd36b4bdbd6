"""Passwords: common and breached ones and ones built from the account are refused; sign-in is throttled
per account and per address with a growing delay."""

from __future__ import annotations

import httpx
import pytest
from litestar.stores.memory import MemoryStore

from engage.app import create_app
from engage.auth.passwords import common_passwords, password_problem
from engage.auth.throttle import LoginThrottle
from engage.config import RateLimit
from engage.platform.errors import RateLimited
from engage.platform.identity import Role
from tests.conftest import PASSWORD, AppClient, account_on, running, unique_email


def test_the_shipped_list_is_there() -> None:
    assert len(common_passwords()) >= 10_000 and "password" in common_passwords()


@pytest.mark.parametrize(
    ("password", "email", "name"),
    [
        ("password", "kim@example.test", ""),
        ("Password1", "kim@example.test", ""),  # case does not help
        ("iloveyou", "kim@example.test", ""),
        ("sunshine2024!", "kim@example.test", ""),  # a common one with digits and a symbol added
        ("qwertyuiop", "kim@example.test", ""),
        ("kimberly.lee", "kimberly.lee@example.test", ""),  # the email's local part
        ("kimberly.lee!", "kimberly.lee@example.test", ""),
        ("kimlee1990", "k@example.test", "Kim Lee"),  # the name
        ("Rosalind Franklin", "rf@example.test", "Rosalind Franklin"),
        ("short", "kim@example.test", ""),
    ],
)
def test_weak_passwords_are_refused(password: str, email: str, name: str) -> None:
    assert password_problem(password, email=email, name=name) is not None


@pytest.mark.parametrize(
    "password", [PASSWORD, "a much better passphrase 42", "Tr0ub4dor&3-xylophone", "kim's own 7 ideas"]
)
def test_good_passwords_pass(password: str) -> None:
    assert password_problem(password, email="kim@example.test", name="Kim Lee") is None


async def test_sign_up_and_password_change_refuse_weak_passwords(client, make_account) -> None:
    email = unique_email("weak")
    for weak in ["password123", email.split("@")[0]]:
        res = await client.post("/api/auth/signup", json={"email": email, "password": weak})
        assert res.status_code == 422 and res.json()["code"] == "weak_password", res.text
        assert res.json()["field"] == "password"
    account = await make_account()
    res = await client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": "letmein123"},
        headers=account.headers,
    )
    assert res.status_code == 422 and res.json()["field"] == "new_password", res.text


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1_000_000.0
        monkeypatch.setattr("engage.auth.throttle.time.time", lambda: self.now)


async def test_the_delay_grows_with_each_failure_past_the_allowance(monkeypatch) -> None:
    clock = Clock(monkeypatch)
    throttle = LoginThrottle(MemoryStore(), limit=3, window_seconds=900, ip_limit=100)
    for _ in range(3):
        await throttle.check("kim@example.test", "10.0.0.1")
        await throttle.failed("kim@example.test", "10.0.0.1")
    waits = []
    for _ in range(6):
        with pytest.raises(RateLimited) as refused:
            await throttle.check("kim@example.test", "10.0.0.2")  # another address: the account counts
        waits.append(refused.value.retry_after)
        clock.now += refused.value.retry_after
        await throttle.check("kim@example.test", "10.0.0.2")
        await throttle.failed("kim@example.test", "10.0.0.2")
    assert waits == [2, 4, 8, 16, 32, 64]
    for _ in range(10):
        try:
            await throttle.check("kim@example.test", "10.0.0.2")
        except RateLimited as exc:
            assert exc.retry_after <= 900, "never more than the window"
            clock.now += exc.retry_after
        await throttle.failed("kim@example.test", "10.0.0.2")
    clock.now += 901
    await throttle.check("kim@example.test", "10.0.0.2")  # the window passed: allowed again


async def test_a_success_clears_the_account_but_not_the_address(monkeypatch) -> None:
    Clock(monkeypatch)
    throttle = LoginThrottle(MemoryStore(), limit=2, window_seconds=900, ip_limit=3)
    for n in range(3):
        await throttle.failed(f"user{n}@example.test", "10.0.0.9")
    await throttle.succeeded("user0@example.test", "10.0.0.9")
    with pytest.raises(RateLimited):
        await throttle.check("someone-new@example.test", "10.0.0.9")  # the address used its allowance
    await throttle.check("someone-new@example.test", "10.0.0.10")


async def test_sign_in_is_throttled_per_address_over_http(sqlite_settings) -> None:
    settings = sqlite_settings.model_copy(update={"rate_limit_login_ip": RateLimit(3, 900)})
    app = create_app(settings)
    async with running(app), AppClient(app, keep_cookies=False) as setup:
        accounts = [await account_on(setup, Role.customer) for _ in range(3)]
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as attacker:
            for account in accounts:  # one wrong guess at each of three accounts
                res = await attacker.post(
                    "/api/auth/login", json={"email": account.email, "password": "guess guess"}
                )
                assert res.status_code == 401
            res = await attacker.post(
                "/api/auth/login", json={"email": accounts[0].email, "password": PASSWORD}
            )
            assert res.status_code == 429 and int(res.headers["retry-after"]) >= 1, res.text
        # the accounts themselves are not locked for their owners elsewhere
        res = await setup.post("/api/auth/login", json={"email": accounts[1].email, "password": PASSWORD})
        assert res.status_code == 200, res.text
