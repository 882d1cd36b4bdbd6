"""Claims under contention, limits, the window in time, and what happens when a claim's hold ends."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from commerce import inventory
from commerce.cart import current_cart, set_quantity
from commerce.pricing import price_lines
from engage.analytics import funnel
from engage.flash_sales import claims, schedule
from engage.flash_sales.gate import RedisGate
from engage.flash_sales.models import (
    ClaimStatus,
    FlashClaim,
    FlashSale,
    FlashSaleBuyer,
    FlashSaleItem,
    SaleStatus,
)
from engage.flash_sales.report import report
from engage.flash_sales.timeline import announce_transitions
from engage.platform.clock import utcnow
from engage.platform.errors import DomainError, NotAuthenticated
from engage.platform.identity import Identity, Role
from engage.platform.runtime import Runtime
from engage.services import Services
from tests.flash_sales.conftest import make_sale, make_shoppers, sale_product


async def _claim(
    services: Services, sale_id: int, variant_id: int, who: Identity, *, into_cart: bool = False
) -> claims.Claimed | str:
    async with services.sessionmaker() as session:
        try:
            return await claims.claim(
                session,
                services.flash_gate,
                sale_id=sale_id,
                variant_id=variant_id,
                identity=who,
                hold_seconds=60,
                into_cart=into_cart,
            )
        except DomainError as exc:
            return exc.code


async def _item(runtime: Runtime, sale_id: int) -> FlashSaleItem:
    async with runtime.sessionmaker() as session:
        return (await session.scalars(select(FlashSaleItem).where(FlashSaleItem.sale_id == sale_id))).one()


async def test_concurrent_claimers_get_exactly_the_units_there_are(mode_services: Services) -> None:
    runtime, services = mode_services.runtime, mode_services
    product = await sale_product(runtime, stock=40)
    variant = product.variants[0].id
    sale_id = await make_sale(runtime, [variant], units=20)
    shoppers = await make_shoppers(runtime, 60)

    results = await asyncio.gather(*(_claim(services, sale_id, variant, who) for who in shoppers))
    won = [r for r in results if isinstance(r, claims.Claimed)]
    assert len(won) == 20
    assert sorted(r for r in results if isinstance(r, str)) == ["sold_out"] * 40
    assert sorted(r.units_left for r in won) == list(range(20)), "each unit claimed once"

    item = await _item(runtime, sale_id)
    assert (item.units_claimed, item.claims_total) == (20, 20)
    async with runtime.sessionmaker() as session:
        assert await session.scalar(select(func.count()).where(FlashClaim.sale_id == sale_id)) == 20
        level = await inventory.get_level(session, variant)
        assert level is not None and (level.on_hand, level.reserved) == (40, 20)
        holds = [
            h
            for h in await inventory.holds_from(session, claims.source_of(sale_id))
            if h.variant_id == variant
        ]
        owners = {h.owner for h in holds}
        assert len(holds) == 20 and len(owners) == 20 and owners <= {w.owner_key for w in shoppers}


async def test_the_per_customer_limit_holds_under_concurrent_claims(mode_services: Services) -> None:
    runtime, services = mode_services.runtime, mode_services
    product = await sale_product(runtime, stock=[30, 30])
    first, second = (v.id for v in product.variants)
    sale_id = await make_sale(runtime, [first, second], units=10, limit=2)
    (greedy,) = await make_shoppers(runtime, 1)

    tries = [_claim(services, sale_id, first if n % 2 else second, greedy) for n in range(8)]
    results = await asyncio.gather(*tries)
    assert sum(isinstance(r, claims.Claimed) for r in results) == 2
    assert sorted(r for r in results if isinstance(r, str)) == ["limit_reached"] * 6
    async with runtime.sessionmaker() as session:
        buyer = await session.get(FlashSaleBuyer, (sale_id, greedy.owner_key))
        assert buyer is not None and buyer.claimed == 2


async def test_claims_only_while_the_sale_runs_and_only_signed_in(mode_services: Services) -> None:
    runtime, services = mode_services.runtime, mode_services
    product = await sale_product(runtime)
    variant = product.variants[0].id
    (who,) = await make_shoppers(runtime, 1)
    upcoming = await make_sale(runtime, [variant], starts_in=timedelta(minutes=5))
    assert await _claim(services, upcoming, variant, who) == "sale_not_live"
    draft = await make_sale(
        runtime,
        [product.variants[0].id],
        starts_in=timedelta(hours=3),
        publish=False,
        lasts=timedelta(minutes=5),
    )
    assert await _claim(services, draft, variant, who) == "not_found"
    guest = Identity(user_id=None, role=None, guest_id="g-123")
    with pytest.raises(NotAuthenticated):
        async with runtime.sessionmaker() as session:
            await claims.claim(
                session,
                services.flash_gate,
                sale_id=upcoming,
                variant_id=variant,
                identity=guest,
                hold_seconds=60,
            )
    async with runtime.sessionmaker() as session:
        await schedule.cancel(session, upcoming)
    assert await _claim(services, upcoming, variant, who) == "sale_not_live"
    assert await _claim(services, 10**9, variant, who) == "not_found"


async def test_a_claim_after_the_sale_changed_elsewhere_is_told_so(mode_services: Services) -> None:
    """Claims keep a sale's item for a moment per process; a change through marketing forgets it at once, and
    a change this process did not see (another node) is caught by the claim transaction and re-read."""
    runtime, services = mode_services.runtime, mode_services
    product = await sale_product(runtime, stock=[20, 20])
    first, second = (v.id for v in product.variants)
    here = await make_sale(runtime, [first], units=5, limit=5)
    elsewhere = await make_sale(runtime, [second], units=5, limit=5)
    buyer, other = await make_shoppers(runtime, 2)
    assert isinstance(await _claim(services, here, first, buyer), claims.Claimed)
    assert isinstance(await _claim(services, elsewhere, second, buyer), claims.Claimed)

    async with runtime.sessionmaker() as session:
        await schedule.cancel(session, here)
    assert await _claim(services, here, first, other) == "sale_not_live"

    async with runtime.sessionmaker() as session:  # as another node's cancel would look from here
        await session.execute(
            update(FlashSale).where(FlashSale.id == elsewhere).values(status=SaleStatus.cancelled.value)
        )
        await session.commit()
    assert await _claim(services, elsewhere, second, other) == "sale_not_live"
    assert (await _item(runtime, elsewhere)).units_claimed == 1


async def test_a_released_claim_goes_back_on_sale_and_a_paid_one_is_sold(mode_services: Services) -> None:
    runtime, services = mode_services.runtime, mode_services
    product = await sale_product(runtime, stock=10)
    variant = product.variants[0].id
    # began days ago (and runs on): the marketers' funnel of sales that ran on that day lists few others
    sale_id = await make_sale(
        runtime, [variant], units=2, starts_in=-timedelta(days=13), lasts=timedelta(days=14)
    )
    a, b, c = await make_shoppers(runtime, 3)
    first = await _claim(services, sale_id, variant, a)
    second = await _claim(services, sale_id, variant, b)
    assert isinstance(first, claims.Claimed) and isinstance(second, claims.Claimed)
    assert await _claim(services, sale_id, variant, c) == "sold_out"

    async with runtime.sessionmaker() as session:  # a's checkout fails: the hold is released
        hold = (
            await session.scalars(select(FlashClaim.reservation_id).where(FlashClaim.id == first.claim_id))
        ).one()
        await inventory.release(session, hold, reason="payment_failed")
        await session.commit()
    await runtime.publisher.drain()
    item = await _item(runtime, sale_id)
    assert item.units_claimed == 1
    async with runtime.sessionmaker() as session:
        assert (await session.get(FlashClaim, first.claim_id)).status == ClaimStatus.released.value  # type: ignore[union-attr]
        assert (await session.get(FlashSaleBuyer, (sale_id, a.owner_key))).claimed == 0  # type: ignore[union-attr]

    retry = await _claim(services, sale_id, variant, c)
    assert isinstance(retry, claims.Claimed) and retry.units_left == 0

    async with runtime.sessionmaker() as session:  # b pays
        hold = (
            await session.scalars(select(FlashClaim.reservation_id).where(FlashClaim.id == second.claim_id))
        ).one()
        await inventory.consume(session, hold, reference="order:TEST")
        await session.commit()
    await runtime.publisher.drain()
    async with runtime.sessionmaker() as session:
        figures = await report(session, sale_id)
    stats = figures["stats"]
    assert (stats["units_claimed"], stats["units_paid"], stats["claims_total"]) == (2, 1, 3)
    assert stats["claims"] == {"held": 1, "paid": 1, "released": 1}
    assert stats["revenue_cents"] == 999 and stats["conversion"] == round(1 / 3, 4)
    async with runtime.sessionmaker() as session:
        began = (utcnow() - timedelta(days=13)).date()
        sales = await funnel.flash_sales(session, began, began, timezone="UTC")
    assert [
        (
            f.claims,
            f.held,
            f.paid,
            f.released,
            f.units_allotted,
            f.units_paid,
            f.sell_through,
            f.claim_to_order,
        )
        for f in sales
        if f.sale_id == sale_id
    ] == [(3, 1, 1, 1, 2, 1, 0.5, round(1 / 3, 4))]

    # the same end reported twice is counted once
    async with runtime.sessionmaker() as session:
        assert await claims.hold_ended(session, hold, paid=True) is None


async def test_the_sale_price_applies_to_held_claims_only(mode_services: Services) -> None:
    runtime, services = mode_services.runtime, mode_services
    product = await sale_product(runtime, stock=10, price=2500)
    variant = product.variants[0].id
    sale_id = await make_sale(runtime, [variant], units=5, price=1500, limit=3)
    (who,) = await make_shoppers(runtime, 1)
    for _ in range(2):
        assert isinstance(await _claim(services, sale_id, variant, who), claims.Claimed)
    async with runtime.sessionmaker() as session:
        pricing = await price_lines(
            session,
            [(variant, 3)],
            owner=who.owner_key,
            user_id=who.user_id,
            at=utcnow(),
            promotions=services.promotions,
        )
    (line,) = pricing.lines
    assert line.discount_cents == 2 * (2500 - 1500), "two claimed units at the sale price, the third at 2500"
    assert line.discount_label.startswith(f"Flash sale #{sale_id}: ")
    async with runtime.sessionmaker() as session:
        anyone_else = await price_lines(
            session,
            [(variant, 1)],
            owner="user:0",
            user_id=None,
            at=utcnow(),
            promotions=services.promotions,
        )
    assert anyone_else.lines[0].discount_cents == 0


async def test_claims_for_checkout_land_in_the_cart_with_the_hold(mode_services: Services) -> None:
    runtime, services = mode_services.runtime, mode_services
    product = await sale_product(runtime, stock=10, price=2500)
    variant, other = product.variants[0].id, (await sale_product(runtime, stock=3)).variants[0].id
    sale_id = await make_sale(runtime, [variant], units=5, price=1500, limit=2)
    (who,) = await make_shoppers(runtime, 1)
    async with runtime.sessionmaker() as session:  # something already in the cart stays there
        await set_quantity(session, who.owner_key, other, 1)

    for _ in range(2):
        claimed = await _claim(services, sale_id, variant, who, into_cart=True)
        assert isinstance(claimed, claims.Claimed) and claimed.unit_price_cents == 1500
    async with runtime.sessionmaker() as session:
        cart = await current_cart(
            session, who.owner_key, user_id=who.user_id, currency="USD", promotions=services.promotions
        )
        holds = await inventory.holds_of(session, who.owner_key)
    assert {line.variant_id: line.quantity for line in cart.lines} == {other: 1, variant: 2}
    assert cart.problems == []
    assert [(h.variant_id, h.quantity) for h in holds if h.variant_id == variant] == [(variant, 1)] * 2
    # over the limit: neither a hold nor a cart line more
    assert await _claim(services, sale_id, variant, who, into_cart=True) == "limit_reached"
    async with runtime.sessionmaker() as session:
        cart = await current_cart(session, who.owner_key, user_id=who.user_id, currency="USD")
    assert {line.variant_id: line.quantity for line in cart.lines} == {other: 1, variant: 2}


async def test_starts_and_ends_are_announced_once(mode_runtime: Runtime, event_log) -> None:
    runtime = mode_runtime
    product = await sale_product(runtime)
    sale_id = await make_sale(
        runtime, [product.variants[0].id], starts_in=timedelta(seconds=-1), lasts=timedelta(seconds=2)
    )

    async def announce_twice_at_once() -> None:
        async with runtime.sessionmaker() as s1, runtime.sessionmaker() as s2:
            await asyncio.gather(announce_transitions(s1), announce_transitions(s2))

    async def flags() -> tuple[bool, bool]:
        from engage.flash_sales.models import FlashSale

        async with runtime.sessionmaker() as session:
            sale = await session.get(FlashSale, sale_id)
            assert sale is not None
            return sale.announced_start, sale.announced_end

    # (an embedded app of another test may run the same periodic job on this database and be first)
    await announce_twice_at_once()
    assert await flags() == (True, False)
    async with runtime.sessionmaker() as session:
        ends_at = (await claims_sale_end(session, sale_id)) - utcnow()
    await asyncio.sleep(max(ends_at.total_seconds(), 0) + 0.1)
    await announce_twice_at_once()
    assert await flags() == (True, True)
    await runtime.publisher.drain()
    if runtime.redis is not None:  # the session's event log listens to the production runtime
        started = event_log.channels_of("sale.started", sale_id=sale_id)
        assert (
            len(started) == 1
            and f"sale:{sale_id}" in started[0]
            and f"product:{product.handle}" in started[0]
        )
        assert len(event_log.channels_of("sale.ended", sale_id=sale_id)) == 1


async def claims_sale_end(session, sale_id: int):  # type: ignore[no-untyped-def]
    from engage.flash_sales.models import FlashSale

    return (await session.get(FlashSale, sale_id)).ends_at


async def test_the_gate_is_rebuilt_from_the_database_when_redis_loses_it(services: Services) -> None:
    runtime = services.runtime
    product = await sale_product(runtime, stock=10)
    variant = product.variants[0].id
    sale_id = await make_sale(runtime, [variant], units=3)
    a, b, c, d = await make_shoppers(runtime, 4)
    assert isinstance(await _claim(services, sale_id, variant, a), claims.Claimed)
    gate = services.flash_gate
    assert isinstance(gate, RedisGate)
    item = await _item(runtime, sale_id)
    await gate.forget(sale_id, [item.id])  # Redis flushed mid-sale
    assert await _claim(services, sale_id, variant, a) == "limit_reached", "the per-owner counts came back"
    assert isinstance(await _claim(services, sale_id, variant, b), claims.Claimed)
    assert isinstance(await _claim(services, sale_id, variant, c), claims.Claimed)
    assert await _claim(services, sale_id, variant, d) == "sold_out", "so did the units left"


async def test_marketing_rules_for_a_sale(mode_runtime: Runtime) -> None:
    runtime = mode_runtime
    product = await sale_product(runtime, stock=5, price=1000)
    variant = product.variants[0].id
    marketer = Identity(user_id=None, role=Role.marketer)
    now = utcnow()

    def plan(**changes) -> schedule.SalePlan:  # type: ignore[no-untyped-def]
        base = {
            "name": "Rules",
            "starts_at": now + timedelta(hours=1),
            "ends_at": now + timedelta(hours=2),
            "per_customer_limit": 1,
            "items": [schedule.ItemPlan(500, 5, variant_id=variant)],
        }
        return schedule.SalePlan(**{**base, **changes})

    bad = [
        plan(ends_at=now + timedelta(minutes=30)),
        plan(items=[schedule.ItemPlan(1000, 1, variant_id=variant)]),  # not below the regular price
        plan(items=[schedule.ItemPlan(500, 6, variant_id=variant)]),  # more than the shop has
        plan(items=[schedule.ItemPlan(500, 1, sku="NO-SUCH-SKU")]),
        plan(items=[schedule.ItemPlan(500, 1)]),  # neither a variant id nor a SKU
        plan(per_customer_limit=0),
    ]
    for wrong in bad:
        with pytest.raises(DomainError):
            async with runtime.sessionmaker() as session:
                await schedule.create(session, marketer, wrong, publish=True)
    async with runtime.sessionmaker() as session:
        sale = await schedule.create(session, marketer, plan(), publish=True)
    with pytest.raises(DomainError) as overlap:
        async with runtime.sessionmaker() as session:
            await schedule.create(session, marketer, plan(name="Twice"), publish=True)
    assert overlap.value.code == "overlap"
    async with runtime.sessionmaker() as session:
        edited = await schedule.update(session, sale.id, plan(name="Renamed", per_customer_limit=2))
        assert (edited.name, edited.per_customer_limit) == ("Renamed", 2)
        cancelled = await schedule.cancel(session, sale.id)
        assert cancelled.status == "cancelled"
    with pytest.raises(DomainError):
        async with runtime.sessionmaker() as session:
            await schedule.update(session, sale.id, plan())


async def test_lowering_units_while_shoppers_claim_never_leaves_more_claimed_than_allotted(
    mode_services: Services,
) -> None:
    """A marketer lowers a live item to what is claimed at the very moment shoppers claim more: either the
    edit lands first (the claims find it sold out) or a claim does (the edit is refused), never both."""
    runtime, services = mode_services.runtime, mode_services
    for _ in range(5):
        product = await sale_product(runtime, stock=30)
        variant = product.variants[0].id
        sale_id = await make_sale(runtime, [variant], units=10, limit=1)
        first, *racers = await make_shoppers(runtime, 4)
        assert isinstance(await _claim(services, sale_id, variant, first), claims.Claimed)
        async with runtime.sessionmaker() as session:
            view = await report(session, sale_id)
        plan = schedule.SalePlan(
            name=view["name"],
            starts_at=datetime.fromisoformat(view["starts_at"]),
            ends_at=datetime.fromisoformat(view["ends_at"]),
            per_customer_limit=1,
            items=[schedule.ItemPlan(999, 1, variant_id=variant)],  # down to the one unit claimed
        )

        async def lower(sale_id: int = sale_id, plan: schedule.SalePlan = plan) -> str:
            try:
                async with runtime.sessionmaker() as session:
                    await schedule.update(session, sale_id, plan, gate=services.flash_gate)
                return "lowered"
            except DomainError as exc:
                return exc.code

        outcomes = await asyncio.gather(lower(), *(_claim(services, sale_id, variant, who) for who in racers))
        item = await _item(runtime, sale_id)
        assert item.units_claimed <= item.units_allotted, outcomes
        won = sum(isinstance(o, claims.Claimed) for o in outcomes[1:])
        assert (outcomes[0] == "lowered") == (won == 0), outcomes
