"""Flash-sale fixtures: a runtime of either mode, shoppers with accounts, a product and a sale of their own."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from engage.auth.models import User
from engage.auth.passwords import hash_password
from engage.flash_sales import schedule
from engage.platform.clock import utcnow
from engage.platform.identity import Identity, Role
from engage.platform.runtime import Runtime
from engage.services import Services
from tests.commerce.conftest import event_log, make_product  # noqa: F401 - shared fixtures
from tests.conftest import PASSWORD

MARKETER = Identity(user_id=None, role=Role.marketer, name="Mo")
_HASH: dict[str, str] = {}


@pytest.fixture(params=["embedded", "production"])
def mode_services(request: pytest.FixtureRequest) -> Services:
    """The same flash-sale rules on SQLite without a gate, and on PostgreSQL behind the Redis gate."""
    return request.getfixturevalue("sqlite_services" if request.param == "embedded" else "services")


@pytest.fixture
def mode_runtime(mode_services: Services) -> Runtime:
    return mode_services.runtime


async def make_shoppers(runtime: Runtime, count: int) -> list[Identity]:
    """`count` customer accounts (one password hash for all: hashing is the slow part and not under test)."""
    if "hash" not in _HASH:
        _HASH["hash"] = await hash_password(PASSWORD)
    users = [
        User(
            email=f"fs-{uuid.uuid4().hex[:12]}@example.test",
            password_hash=_HASH["hash"],
            role=Role.customer.value,
        )
        for _ in range(count)
    ]
    async with runtime.sessionmaker() as session:
        session.add_all(users)
        await session.commit()
        return [Identity(user_id=u.id, role=Role.customer, email=u.email, name=u.email) for u in users]


async def make_sale(
    runtime: Runtime,
    variants: Sequence[int],
    *,
    units: int = 10,
    price: int = 999,
    limit: int = 1,
    starts_in: timedelta = timedelta(seconds=-1),
    lasts: timedelta = timedelta(hours=1),
    publish: bool = True,
) -> int:
    starts_at = utcnow() + starts_in
    plan = schedule.SalePlan(
        name=f"Test sale {uuid.uuid4().hex[:6]}",
        starts_at=starts_at,
        ends_at=starts_at + lasts,
        per_customer_limit=limit,
        items=[schedule.ItemPlan(price, units, variant_id=v) for v in variants],
    )
    async with runtime.sessionmaker() as session:
        sale = await schedule.create(session, MARKETER, plan, publish=publish)
        return sale.id


async def sale_product(runtime: Runtime, *, stock: int | list[int] = 50, price: int = 2500) -> Any:
    async with runtime.sessionmaker() as session:
        return await make_product(session, stock=stock, price=price)
