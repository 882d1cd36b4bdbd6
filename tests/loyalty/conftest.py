"""Loyalty fixtures: the whole app in either mode, shoppers over HTTP, rules set per test, settling."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest
from sqlalchemy import select

from commerce.orders.models import Order
from engage.auth.middleware import forget_identity
from engage.auth.models import User
from engage.auth.passwords import hash_password
from engage.loyalty import rules as loyalty_rules
from engage.loyalty.rules import Milestone, Rules, Tier
from engage.platform.identity import Role
from engage.services import Services
from tests.commerce.conftest import ADDRESS, GOOD_CARD, Shopper, make_product
from tests.conftest import PASSWORD, AppClient, api_token

_HASH: dict[str, str] = {}


@pytest.fixture(params=["embedded", "production"])
def app(request: pytest.FixtureRequest) -> AppClient:
    """The app on SQLite (memory channels, in-process jobs) and on PostgreSQL + Redis."""
    return request.getfixturevalue("sqlite_client" if request.param == "embedded" else "client")


def services_of(client: AppClient) -> Services:
    return client.app.state.services


# Rules for tests: one rate, no tier jumps, no bonuses unless a test wants them, fraud limits out of the way.
def test_rules(**changes: Any) -> Rules:
    base = Rules(
        points_per_unit=1,
        pending_days=14,
        expiry_months=12,
        tiers=[Tier(name="Member", threshold=0, points_per_unit=1)],
        redeem_points_per_unit=100,
        redeem_minimum=100,
        bonus_signup=0,
        bonus_first_order=0,
        bonus_birthday=0,
        referral_milestones=[Milestone(referrals=2, credit_cents=500)],
        fraud_ip_limit=10_000,
        fraud_email_pattern_limit=10_000,
    )
    return msgspec.structs.replace(base, **changes)


test_rules.__test__ = False  # type: ignore[attr-defined]


async def set_rules(client: AppClient, rules: Rules) -> None:
    async with services_of(client).sessionmaker() as session:
        await loyalty_rules.save(session, rules, actor="test")


async def make_user(
    client: AppClient, role: Role = Role.customer, email: str | None = None
) -> tuple[int, str, Shopper]:
    """An account signed in with a bearer token: (user id, email, shopper over HTTP)."""
    if "hash" not in _HASH:
        _HASH["hash"] = await hash_password(PASSWORD)
    email = email or f"ly-{uuid.uuid4().hex[:12]}@example.test"
    async with services_of(client).sessionmaker() as session:
        user = User(email=email, password_hash=_HASH["hash"], role=role.value)
        session.add(user)
        await session.commit()
        user_id = user.id
    # the identity cache is per process and keyed by user id alone: an id the other mode's database gave to
    # another account may be cached for a few seconds (two apps in one test process; never in production)
    forget_identity(user_id)
    return user_id, email, Shopper(client, {"Authorization": f"Bearer {await api_token(client, email)}"})


async def adjust(client: AppClient, admin: Shopper, user_id: int, amount: int, unit: str = "points") -> None:
    """An admin's adjustment of a member's points or store credit (minor units), over HTTP."""
    res = await admin.request(
        "POST",
        "/api/admin/loyalty/adjustments",
        json={
            "user_id": user_id,
            "amount": amount,
            "reason": "goodwill",
            "key": uuid.uuid4().hex,
            "unit": unit,
        },
    )
    assert res.status_code == 201, res.text


async def member(
    client: AppClient, *, price: int, points: int = 0, credit: int = 0
) -> tuple[Any, Shopper, int, str, Shopper]:
    """The usual rules, a product at `price`, an admin, and a shopper holding `points` and `credit`:
    (product, admin, the shopper's user id and email, shopper)."""
    await set_rules(client, test_rules())
    item = await product(client, price=price)
    _, _, admin = await make_user(client, Role.admin)
    user_id, email, shopper = await make_user(client)
    for unit, amount in (("points", points), ("credit", credit)):
        if amount:
            await adjust(client, admin, user_id, amount, unit)
    return item, admin, user_id, email, shopper


async def product(client: AppClient, *, price: int = 2500, stock: int = 50, **kwargs: Any) -> Any:
    async with services_of(client).sessionmaker() as session:
        return await make_product(session, price=price, stock=stock, **kwargs)


async def settle(client: AppClient) -> None:
    """Every committed event delivered (loyalty's settling records more: drain until quiet)."""
    services = services_of(client)
    for _ in range(4):
        await services.runtime.publisher.drain()
        await services.leaderboards.drain()


async def buy(
    client: AppClient,
    shopper: Shopper,
    variant_id: int,
    quantity: int = 1,
    *,
    points: int | None = None,
    use_credit: bool | None = None,
    card: str | None = GOOD_CARD,
    address: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], Any]:
    """Cart, checkout (points/credit chosen), pay: (the checkout as shown before paying, the pay response)."""
    res = await shopper.add(variant_id, quantity)
    assert res.status_code in (200, 201), res.text
    checkout = await shopper.checkout(address=address or ADDRESS)
    if points is not None or use_credit is not None:
        res = await shopper.request(
            "PUT",
            f"/api/loyalty/checkouts/{checkout['id']}",
            json={k: v for k, v in {"points": points, "use_credit": use_credit}.items() if v is not None},
        )
        assert res.status_code == 200, res.text
        res = await shopper.request("GET", f"/api/checkout/{checkout['id']}")
        assert res.status_code == 200, res.text
        checkout = res.json()
    body: dict[str, Any] = {"expected_total_cents": checkout["total_cents"]}
    if card is not None:
        body["payment_method"] = card
    paid = await shopper.request(
        "POST",
        f"/api/checkout/{checkout['id']}/pay",
        json=body,
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    await settle(client)
    return checkout, paid


async def order_of(client: AppClient, number: str) -> Order:
    async with services_of(client).sessionmaker() as session:
        found = await session.scalar(select(Order).where(Order.number == number))
        assert found is not None
        return found
