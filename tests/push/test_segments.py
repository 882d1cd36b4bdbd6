"""Segments compile to SQL over live commerce data (SQLite and PostgreSQL): each rule, include/exclude,
saved segments, the audience count, and a campaign's audience drawn from one."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from commerce.cart.models import Cart, CartLine
from commerce.catalog.models import Category, Product
from commerce.orders.models import Order, OrderLine
from engage.auth.models import User
from engage.platform.clock import utcnow
from engage.platform.identity import Role
from engage.push import segments
from engage.services import Services
from tests.commerce.conftest import make_product
from tests.push.conftest import audience, make_users, set_prefs, sign_in
from tests.push.push_service import PushService


async def order(
    services: Services,
    person: Any,
    *,
    total: int = 5000,
    days_ago: int = 1,
    status: str = "paid",
    variant_id: int | None = None,
    refunded: int = 0,
) -> None:
    async with services.sessionmaker() as session:
        row = Order(
            number=f"S{uuid.uuid4().hex[:8].upper()}",
            checkout_id=uuid.uuid4().hex,
            owner_key=person.owner.key,
            user_id=person.user_id,
            email="x@example.test",
            status=status,
            currency="usd",
            subtotal_cents=total,
            shipping_cents=0,
            tax_cents=0,
            total_cents=total,
            refunded_cents=refunded,
            created_at=utcnow() - timedelta(days=days_ago),
        )
        session.add(row)
        await session.flush()
        if variant_id is not None:
            session.add(
                OrderLine(
                    order_id=row.id,
                    variant_id=variant_id,
                    product_handle="h",
                    sku="s",
                    name="n",
                    quantity=1,
                    unit_price_cents=total,
                    line_total_cents=total,
                )
            )
        await session.commit()


async def cart(services: Services, person: Any, variant_id: int, *, hours_ago: float) -> None:
    async with services.sessionmaker() as session:
        row = Cart(owner_key=person.owner.key)
        session.add(row)
        await session.flush()
        session.add(
            CartLine(
                cart_id=row.id,
                variant_id=variant_id,
                quantity=1,
                added_at=utcnow() - timedelta(hours=hours_ago),
            )
        )
        await session.commit()


async def members(services: Services, rules: dict[str, Any], people: list[Any]) -> set[int]:
    """Which of `people` the segment's audience holds (drawn as a campaign draws it)."""
    env = services.push
    async with services.sessionmaker() as session:
        where = await segments.condition(session, segments.parse(rules), default_timezone="UTC")
        rows = (await session.execute(segments.audience("offers", env.public_key, where))).all()
    mine = {p.subscription_ids[0]: p.user_id for p in people}
    return {mine[r[0]] for r in rows if r[0] in mine}


async def test_each_rule(push_services: Services, push_service: PushService) -> None:
    buyer, big, lapsed, never, carter, fresh, paris, refunded = people = await audience(
        push_services, push_service, 8
    )
    async with push_services.sessionmaker() as session:
        parent = Category(slug=f"audio-{uuid.uuid4().hex[:6]}", name="Audio")
        session.add(parent)
        await session.flush()
        child = Category(slug=f"headphones-{uuid.uuid4().hex[:6]}", name="Headphones", parent_id=parent.id)
        session.add(child)
        await session.commit()
        product = await make_product(session, stock=10)
        await session.execute(update(Product).where(Product.id == product.id).values(category_id=child.id))
        await session.commit()
    variant = product.variants[0].id
    await order(push_services, buyer, total=3000, days_ago=2, variant_id=variant)
    await order(push_services, big, total=60000, days_ago=10)
    await order(push_services, big, total=50000, days_ago=12, status="cancelled")  # does not count
    await order(push_services, lapsed, total=2000, days_ago=200)
    await order(push_services, refunded, total=90000, days_ago=3, refunded=85000)
    await cart(push_services, carter, variant, hours_ago=30)
    await cart(push_services, fresh, variant, hours_ago=1)
    async with push_services.sessionmaker() as session:
        old = utcnow() - timedelta(days=400)
        await session.execute(
            update(User)
            .where(User.id.in_([p.user_id for p in people if p is not fresh]))
            .values(created_at=old)
        )
        await session.commit()
    await set_prefs(push_services, paris, timezone="Europe/Paris", topics={"flash_sales": {"push": False}})

    ids = lambda *ps: {p.user_id for p in ps}  # noqa: E731
    assert await members(push_services, {}, people) == ids(*people)
    assert await members(push_services, {"include": [{"type": "ordered", "within_days": 30}]}, people) == ids(
        buyer, big, refunded
    )
    assert await members(push_services, {"include": [{"type": "never_ordered"}]}, people) == ids(
        never, carter, fresh, paris
    )
    assert await members(
        push_services, {"include": [{"type": "total_spent", "min_cents": 50000}]}, people
    ) == ids(big)
    assert await members(
        push_services, {"include": [{"type": "total_spent", "min_cents": 1000, "max_cents": 4000}]}, people
    ) == ids(buyer, lapsed)
    assert await members(
        push_services, {"include": [{"type": "bought_category", "category": parent.slug}]}, people
    ) == ids(buyer)
    assert (
        await members(
            push_services,
            {"include": [{"type": "bought_category", "category": child.slug, "within_days": 1}]},
            people,
        )
        == set()
    )
    assert await members(
        push_services, {"include": [{"type": "abandoned_cart", "idle_hours": 24}]}, people
    ) == ids(carter)
    assert await members(
        push_services, {"include": [{"type": "signed_up", "within_days": 7}]}, people
    ) == ids(fresh)
    assert await members(
        push_services, {"include": [{"type": "opted_in", "topic": "flash_sales"}]}, people
    ) == ids(*people) - ids(paris)
    assert await members(
        push_services, {"include": [{"type": "time_zone", "zones": ["Europe/"]}]}, people
    ) == ids(paris)
    assert await members(
        push_services, {"include": [{"type": "time_zone", "zones": ["UTC"]}]}, people
    ) == ids(*people) - ids(paris)
    assert (
        await members(push_services, {"include": [{"type": "has_device", "min_devices": 2}]}, people) == set()
    )
    # include any / exclude
    rules = {
        "include": [{"type": "ordered", "within_days": 30}, {"type": "abandoned_cart"}],
        "match": "any",
        "exclude": [{"type": "total_spent", "min_cents": 50000}],
    }
    assert await members(push_services, rules, people) == ids(buyer, carter, refunded)
    # ordered in the last N days or never: "lapsed" is the only one left out
    rules = {"include": [{"type": "ordered", "within_days": 30}, {"type": "never_ordered"}], "match": "any"}
    assert await members(push_services, rules, people) == ids(*people) - ids(lapsed)


async def test_saved_segments_and_counts(http, push_services: Services, push_service: PushService) -> None:
    people = await audience(push_services, push_service, 3, devices=2)
    await order(push_services, people[0], total=100_000)
    [mo] = await make_users(push_services, 1, Role.marketer)
    await sign_in(http, mo)
    vip = {
        "name": f"VIP {uuid.uuid4().hex[:6]}",
        "rules": {"include": [{"type": "total_spent", "min_cents": 50000}]},
    }
    res = await http.post("/api/marketing/segments", json=vip, headers=mo.headers)
    assert res.status_code == 201, res.text
    seg = res.json()
    assert (await http.post("/api/marketing/segments", json=vip, headers=mo.headers)).status_code == 409
    count = await http.post(
        "/api/marketing/audience/count", json={"segment_id": seg["id"]}, headers=mo.headers
    )
    assert count.json() == {"devices": 2, "people": 1}
    not_vip = {"exclude": [{"type": "segment", "id": seg["id"]}]}
    count = await http.post("/api/marketing/audience/count", json={"segment": not_vip}, headers=mo.headers)
    assert count.json()["people"] >= 2  # other tests' opted-in shoppers of this key: none (fresh keys)
    assert count.json() == {"devices": 4, "people": 2}
    loop = {"name": seg["name"], "rules": {"include": [{"type": "segment", "id": seg["id"]}]}}
    assert (
        await http.put(f"/api/marketing/segments/{seg['id']}", json=loop, headers=mo.headers)
    ).status_code == 422
    for bad in (
        {"include": [{"type": "nope"}]},
        {"include": [{"type": "ordered", "within_days": 0}]},
        {"include": [{"type": "time_zone", "zones": ["Mars/Base"]}]},
        {"match": "some"},
        {"include": [{"type": "opted_in", "topic": "spam"}]},
    ):
        res = await http.post("/api/marketing/audience/count", json={"segment": bad}, headers=mo.headers)
        assert res.status_code in (400, 422), (bad, res.text)
    campaign = {"title": "VIPs only", "url": "/vip", "segment_id": seg["id"]}
    res = await http.post("/api/marketing/campaigns", json=campaign, headers=mo.headers)
    assert res.status_code == 201, res.text
    cid = res.json()["id"]
    assert (await http.get(f"/api/marketing/campaigns/{cid}/audience", headers=mo.headers)).json() == {
        "devices": 2,
        "people": 1,
    }
    assert (await http.delete(f"/api/marketing/segments/{seg['id']}", headers=mo.headers)).status_code == 409
    listed = (await http.get("/api/marketing/segments", headers=mo.headers)).json()
    assert seg["id"] in [s["id"] for s in listed]
    [shopper] = people[:1]
    await sign_in(http, shopper)
    assert (await http.get("/api/marketing/segments", headers=shopper.headers)).status_code == 403
    assert (
        await http.post("/api/marketing/audience/count", json={}, headers=shopper.headers)
    ).status_code == 403


@pytest.mark.parametrize("opted", [True, False])
async def test_only_opted_in_owners_are_reachable(
    push_services: Services, push_service: PushService, opted: bool
) -> None:
    people = await audience(push_services, push_service, 2, offers=opted)
    assert await members(push_services, {}, people) == ({p.user_id for p in people} if opted else set())
    if opted:
        await set_prefs(push_services, people[0], marketing_unsubscribed=True)
        assert await members(push_services, {}, people) == {people[1].user_id}
