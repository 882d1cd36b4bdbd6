"""The pages as people use them, in Chromium: the embedded app (SQLite, in-memory channels) served by uvicorn
in the test's loop, accounts of every role, and signing in through the sign-in form."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from engage.auth.models import User
from engage.platform.identity import Role
from engage.platform.runtime import Runtime
from tests.commerce.conftest import make_product, serving  # noqa: F401 - shared helpers
from tests.conftest import PASSWORD, api_token, password_hash

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    role: Role
    name: str


async def make_person(runtime: Runtime, role: Role = Role.customer, name: str = "") -> Person:
    """An account of `role` (one password hash for all: hashing is slow and not under test here)."""
    email = f"{role.value}-{uuid.uuid4().hex[:10]}@example.test"
    user = User(email=email, password_hash=await password_hash(), role=role.value, name=name)
    async with runtime.sessionmaker() as session:
        session.add(user)
        await session.commit()
        return Person(user.id, email, role, name)


async def sign_in(page: Any, person: Person, then: str = "/") -> None:
    """Through the sign-in form, as a person does."""
    from playwright.async_api import expect

    await page.goto(f"/login?next={then}")
    await page.get_by_label("Email").fill(person.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(lambda url: "/login" not in url)
    await expect(page.locator("#logout")).to_be_attached()


@pytest.fixture
def app(sqlite_client: Any) -> Any:
    return sqlite_client.app


@pytest.fixture
def web_runtime(app: Any) -> Runtime:
    return app.state.runtime


@pytest.fixture
async def site(app: Any) -> AsyncIterator[str]:
    """The app served on a loopback port: its base URL."""
    async with serving(app) as base:
        yield base


async def token_of(http: Any, person: Person) -> dict[str, str]:
    """Bearer headers of `person` (API calls a test makes on their behalf)."""
    return {"Authorization": f"Bearer {await api_token(http, person.email)}"}


async def buy(http: Any, person: Person, variant_id: int, *, address: dict | None = None) -> str:
    """`person` buys one unit of a variant over the API (test card); the order number."""
    from tests.commerce.conftest import Shopper

    shopper = Shopper(http, await token_of(http, person))
    res = await shopper.add(variant_id)
    assert res.status_code in (200, 201), res.text
    checkout = await shopper.checkout(address=address)
    res = await shopper.pay(checkout["id"])
    assert res.status_code == 200 and res.json()["status"] == "paid", res.text
    return res.json()["order_number"]


def watch_errors(page: Any) -> list[str]:
    """Uncaught script errors of a page (a test asserts there are none)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors
