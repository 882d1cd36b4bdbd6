"""Inventory against real databases: the ledger, reservations, holds that expire, and the events."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from commerce import inventory
from commerce.inventory import OutOfStock, ReservationStatus, StockLevel
from engage.platform.clock import utcnow
from engage.platform.runtime import Runtime
from tests.commerce.conftest import make_product


@pytest.fixture(params=["postgresql", "sqlite"])
def rt(request: pytest.FixtureRequest) -> Runtime:
    return request.getfixturevalue("runtime" if request.param == "postgresql" else "sqlite_runtime")


async def test_every_movement_lands_in_the_ledger_and_on_hand_is_recomputed_from_it(rt: Runtime) -> None:
    async with rt.sessionmaker() as s:
        product = await make_product(s, stock=20)
        vid = product.variants[0].id
        await inventory.restock(s, vid, 5, reference="po:1")
        await inventory.adjust(s, vid, delta=-2, note="damaged")
        held = await inventory.reserve(s, vid, 4, owner="guest:a", source="checkout:x", hold_seconds=60)
        other = await inventory.reserve(s, vid, 3, owner="guest:b", source="flash:1", hold_seconds=60)
        await inventory.consume(s, held.id, reference="order:1")
        await inventory.release(s, other.id)
        await inventory.sell(s, vid, 1, reference="order:2")
        await inventory.return_to_stock(s, vid, 1, reference="order:1", note="refund")
        await s.commit()

        level = await inventory.get_level(s, vid)
        assert level is not None
        assert (level.on_hand, level.reserved, level.available) == (20 + 5 - 2 - 4 - 1 + 1, 0, 19)
        [check] = await inventory.check_ledger(s, [vid])
        assert check.consistent and check.ledger_on_hand == 19

        kinds = (
            await s.scalars(
                select(inventory.StockMovement.kind)
                .where(inventory.StockMovement.variant_id == vid)
                .order_by(inventory.StockMovement.id)
            )
        ).all()
        assert kinds == [
            "restock",
            "restock",
            "adjustment",
            "reservation",
            "reservation",
            "sale",
            "release",
            "sale",
            "refund-return",
        ]

        # Someone edits the level row by hand: the ledger still knows, and recompute repairs it.
        await s.execute(update(StockLevel).where(StockLevel.variant_id == vid).values(on_hand=999))
        await s.commit()
        [broken] = await inventory.check_ledger(s, [vid])
        assert not broken.consistent and broken.ledger_on_hand == 19
        repaired = await inventory.recompute(s, vid)
        await s.commit()
        assert repaired.on_hand == 19 and (await inventory.check_ledger(s, [vid]))[0].consistent


async def test_available_is_on_hand_minus_active_reservations_and_never_negative(rt: Runtime) -> None:
    async with rt.sessionmaker() as s:
        vid = (await make_product(s, stock=5)).variants[0].id
        await inventory.reserve(s, vid, 4, owner="guest:a", source="checkout:a", hold_seconds=60)
        await s.commit()
        with pytest.raises(OutOfStock) as info:
            await inventory.reserve(s, vid, 2, owner="guest:b", source="checkout:b", hold_seconds=60)
        await s.rollback()
        assert info.value.extra["available"] == 1
        with pytest.raises(OutOfStock):
            await inventory.sell(s, vid, 2, reference="order:x")
        await s.rollback()
        with pytest.raises(Exception, match="reserved"):
            await inventory.adjust(s, vid, on_hand=3)
        await s.rollback()
        level = await inventory.get_level(s, vid)
        assert level is not None and (level.on_hand, level.reserved, level.available) == (5, 4, 1)


async def test_concurrent_reservations_never_oversell(rt: Runtime) -> None:
    async with rt.sessionmaker() as s:
        vid = (await make_product(s, stock=30)).variants[0].id

    async def buyer(n: int) -> bool:
        async with rt.sessionmaker() as s:
            try:
                await inventory.reserve(s, vid, 1, owner=f"guest:{n}", source="race", hold_seconds=60)
                await s.commit()
                return True
            except OutOfStock:
                await s.rollback()
                return False

    results = await asyncio.gather(*[buyer(n) for n in range(100)])
    assert results.count(True) == 30
    async with rt.sessionmaker() as s:
        level = await inventory.get_level(s, vid)
        assert level is not None and level.available == 0 and level.reserved == 30
        assert (await inventory.check_ledger(s, [vid]))[0].consistent


async def test_expired_holds_are_released_with_their_source_and_reclaimed_when_needed(
    runtime: Runtime, event_log
) -> None:
    async with runtime.sessionmaker() as s:
        vid = (await make_product(s, stock=2)).variants[0].id
        flash = await inventory.reserve(s, vid, 1, owner="user:7", source="flash:12", hold_seconds=60)
        stale = await inventory.reserve(s, vid, 1, owner="guest:z", source="checkout:z", hold_seconds=60)
        await s.commit()
        # Both holds run out (as if their time had passed).
        await s.execute(
            update(inventory.Reservation)
            .where(inventory.Reservation.id.in_([flash.id, stale.id]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await s.commit()
        assert [h.id for h in await inventory.holds_of(s, "user:7")] == []

        # Someone needs a unit before the job ran: the expired holds are reclaimed on the spot.
        mine = await inventory.reserve(s, vid, 2, owner="guest:new", source="checkout:new", hold_seconds=60)
        await s.commit()
        assert mine.quantity == 2
        assert (await inventory.get_hold(s, flash.id)).status == ReservationStatus.expired.value  # type: ignore[union-attr]

        # The periodic job releases what is left once it expires too.
        await s.execute(
            update(inventory.Reservation)
            .where(inventory.Reservation.id == mine.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await s.commit()
    from workers.commerce import release_expired_holds

    assert await release_expired_holds(runtime.job_context) >= 1
    await runtime.publisher.drain()
    async with runtime.sessionmaker() as s:
        level = await inventory.get_level(s, vid)
        assert level is not None and level.available == 2
        assert (await inventory.check_ledger(s, [vid]))[0].consistent

    released = event_log.of("reservation.released", variant_id=vid)
    assert {(e["source"], e["reason"]) for e in released} == {
        ("flash:12", "expired"),
        ("checkout:z", "expired"),
        ("checkout:new", "expired"),
    }
    assert next(e for e in released if e["source"] == "flash:12")["owner"] == "user:7"


async def test_releasing_or_consuming_twice_is_harmless(runtime: Runtime) -> None:
    async with runtime.sessionmaker() as s:
        vid = (await make_product(s, stock=3)).variants[0].id
        a = await inventory.reserve(s, vid, 1, owner="guest:a", source="checkout:a", hold_seconds=60)
        b = await inventory.reserve(s, vid, 1, owner="guest:a", source="checkout:a", hold_seconds=60)
        await s.commit()
        assert await inventory.release(s, a.id) is True
        assert await inventory.release(s, a.id) is False
        await inventory.consume(s, b.id, reference="order:b")
        await inventory.consume(s, b.id, reference="order:b")
        await s.commit()
        level = await inventory.get_level(s, vid)
        assert level is not None and (level.on_hand, level.reserved) == (2, 0)


async def test_a_late_payment_still_gets_a_unit_when_one_is_left(runtime: Runtime) -> None:
    async with runtime.sessionmaker() as s:
        vid = (await make_product(s, stock=1)).variants[0].id
        first = await inventory.reserve(s, vid, 1, owner="guest:a", source="checkout:a", hold_seconds=60)
        await s.commit()
        await inventory.release(s, first.id, reason="expired")
        second = await inventory.reserve(s, vid, 1, owner="guest:b", source="checkout:b", hold_seconds=60)
        await inventory.release(s, second.id, reason="expired")
        await s.commit()

        await inventory.consume(s, first.id, reference="order:late")  # sold from available stock
        await inventory.consume(s, first.id, reference="order:late")  # once
        await s.commit()
        level = await inventory.get_level(s, vid)
        assert level is not None and (level.on_hand, level.reserved) == (0, 0)
        with pytest.raises(OutOfStock):  # nothing left for the other late payment: its caller must refund
            await inventory.consume(s, second.id, reference="order:later")
        await s.rollback()
        assert (await inventory.check_ledger(s, [vid]))[0].consistent


async def test_stock_events_follow_the_contract(runtime: Runtime, event_log) -> None:
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=6, threshold=3)
        variant = product.variants[0]
        await inventory.reserve(s, variant.id, 2, owner="guest:a", source="checkout:a", hold_seconds=60)
        await s.commit()
        await inventory.sell(s, variant.id, 2, reference="order:y")  # 6 -> 2 available: crosses 3
        await s.commit()
        await inventory.restock(s, variant.id, 10)
        await s.commit()
    await runtime.publisher.drain()

    changed = event_log.of("stock.changed", variant_id=variant.id)
    assert [e["available"] for e in changed] == [6, 4, 2, 12]
    assert changed[1] == {
        "handle": product.handle,
        "variant_id": variant.id,
        "sku": variant.sku,
        "available": 4,
        "on_hand": 6,
        "previous_available": 6,
    }
    assert set(event_log.channels_of("stock.changed", variant_id=variant.id)) == {
        (f"product:{product.handle}",)
    }
    low = event_log.of("stock.low", variant_id=variant.id)
    assert low == [
        {
            "handle": product.handle,
            "variant_id": variant.id,
            "sku": variant.sku,
            "available": 2,
            "threshold": 3,
        }
    ]


async def test_a_rolled_back_reservation_publishes_nothing(runtime: Runtime, event_log) -> None:
    async with runtime.sessionmaker() as s:
        vid = (await make_product(s, stock=4)).variants[0].id
        await runtime.publisher.drain()
        before = len(event_log.of("stock.changed", variant_id=vid))
        await inventory.reserve(s, vid, 1, owner="guest:a", source="x", hold_seconds=60)
        await s.rollback()
    await runtime.publisher.drain()
    assert len(event_log.of("stock.changed", variant_id=vid)) == before


async def test_guest_holds_follow_the_shopper_into_the_account(runtime: Runtime) -> None:
    async with runtime.sessionmaker() as s:
        vid = (await make_product(s, stock=4)).variants[0].id
        await inventory.reserve(s, vid, 1, owner="guest:handover", source="flash:3", hold_seconds=60)
        await s.commit()
        assert await inventory.hand_over(s, "guest:handover", "user:4242") == 1
        await s.commit()
        holds = await inventory.holds_of(s, "user:4242")
        assert [(h.variant_id, h.source) for h in holds] == [(vid, "flash:3")]
        assert await s.scalar(select(StockLevel.reserved).where(StockLevel.variant_id == vid)) == 1
