"""Claiming a unit of a flash sale, and what happens when the claim's hold ends.

A claim is: the gate says yes (or there is no gate) -> one transaction takes a unit of the item (a guarded
UPDATE), counts it against the shopper's limit (a guarded upsert), holds the stock for the shopper for a
short time (commerce's reservation, source "flash:{sale}") and records the claim. Any refusal rolls it all
back and hands the gate its unit back. The shopper's checkout adopts the hold; the sale's price applies to it
through the promotions hook (engage.flash_sales.pricing).

When the hold ends, commerce records `reservation.released` (expired, checkout failed) or
`reservation.consumed` (paid) with the source: `hold_ended` then returns the unit to the sale or counts it
as sold, exactly once.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from commerce import inventory
from commerce.cart import add_held_unit
from engage.flash_sales.events import ItemStats, ItemUnits, sale_channel, staff_channel
from engage.flash_sales.gate import ClaimGate, Verdict
from engage.flash_sales.models import (
    ClaimStatus,
    FlashClaim,
    FlashSale,
    FlashSaleBuyer,
    FlashSaleItem,
    SaleStatus,
)
from engage.platform.clock import utcnow
from engage.platform.db import insert_for
from engage.platform.errors import Conflict, NotAuthenticated, NotFound
from engage.platform.events import record
from engage.platform.identity import Identity

SOURCE_PREFIX = "flash:"


class SaleNotLive(Conflict):
    code = "sale_not_live"


class SoldOut(Conflict):
    code = "sold_out"


class LimitReached(Conflict):
    code = "limit_reached"


def source_of(sale_id: int) -> str:
    return f"{SOURCE_PREFIX}{sale_id}"


def sale_of_source(source: str) -> int | None:
    if not source.startswith(SOURCE_PREFIX):
        return None
    tail = source[len(SOURCE_PREFIX) :]
    return int(tail) if tail.isdigit() else None


@dataclass(frozen=True, slots=True)
class Claimed:
    claim_id: int
    sale_id: int
    item_id: int
    variant_id: int
    unit_price_cents: int
    hold_expires_at: datetime
    units_left: int


@dataclass(frozen=True, slots=True)
class _Target:
    sale_id: int
    item_id: int
    limit: int
    price: int
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class _SaleItem:
    status: str
    starts_at: datetime
    ends_at: datetime
    limit: int
    item_id: int
    price: int


# What a claim needs to know of a sale's item, kept briefly per process: in a storm most claims are turned
# away by the gate, and this keeps them off the database. The claim transaction re-checks all of it. Claims
# that find nothing kept share one read (a storm's first requests all arrive before any read returns).
_ITEM_SECONDS = 2.0
_ITEMS_KEPT = 1024
_recent_items: dict[tuple[int, int, str], tuple[float, _SaleItem | None]] = {}
_reading_items: dict[tuple[int, int, str], asyncio.Task[_SaleItem | None]] = {}


def forget_sale(sale_id: int) -> None:
    """Drop what this process keeps of a sale's items (after a change to the sale); a read already under way
    is left to those waiting for it, and the next claims read again."""
    for key in [key for key in _recent_items if key[0] == sale_id]:
        _recent_items.pop(key, None)
    for key in [key for key in _reading_items if key[0] == sale_id]:
        _reading_items.pop(key, None)


def _engine_of(session: AsyncSession) -> AsyncEngine:
    engine = session.bind
    assert isinstance(engine, AsyncEngine), "sessions come from the runtime's sessionmaker (an engine's)"
    return engine


async def _sale_item(engine: AsyncEngine, sale_id: int, variant_id: int) -> _SaleItem | None:
    key, now = (sale_id, variant_id, str(engine.url)), time.monotonic()
    kept = _recent_items.get(key)
    if kept is not None and now - kept[0] < _ITEM_SECONDS:
        return kept[1]
    reading = _reading_items.get(key)
    if reading is None or reading.get_loop() is not asyncio.get_running_loop():
        reading = _reading_items[key] = asyncio.create_task(_read_sale_item(engine, sale_id, variant_id))
        reading.add_done_callback(lambda done: _keep_item(key, now, done))
    return await asyncio.shield(reading)  # a claimer that gives up does not cancel the others' read


def _keep_item(key: tuple[int, int, str], started: float, done: asyncio.Task[_SaleItem | None]) -> None:
    """Keep what a read found, unless the sale changed while it ran (`forget_sale` let go of the read)."""
    if _reading_items.get(key) is not done:
        return
    del _reading_items[key]
    if done.cancelled() or done.exception() is not None:
        return
    if len(_recent_items) >= _ITEMS_KEPT:
        _recent_items.clear()
    _recent_items[key] = (started, done.result())


async def _read_sale_item(engine: AsyncEngine, sale_id: int, variant_id: int) -> _SaleItem | None:
    async with AsyncSession(engine) as session:
        row = (
            await session.execute(
                select(
                    FlashSale.status,
                    FlashSale.starts_at,
                    FlashSale.ends_at,
                    FlashSale.per_customer_limit,
                    FlashSaleItem.id,
                    FlashSaleItem.sale_price_cents,
                )
                .join(FlashSaleItem, FlashSaleItem.sale_id == FlashSale.id)
                .where(FlashSale.id == sale_id, FlashSaleItem.variant_id == variant_id)
            )
        ).one_or_none()
    return _SaleItem(*row) if row is not None else None


async def _target(session: AsyncSession, sale_id: int, variant_id: int, now: datetime) -> _Target:
    item = await _sale_item(_engine_of(session), sale_id, variant_id)
    if item is None or item.status == SaleStatus.draft.value:
        raise NotFound("this flash sale has no such item")
    if item.status == SaleStatus.cancelled.value:
        raise SaleNotLive("this flash sale was cancelled")
    if now < item.starts_at:
        raise SaleNotLive("this flash sale has not started yet", starts_at=item.starts_at.isoformat())
    if now >= item.ends_at:
        raise SaleNotLive("this flash sale has ended")
    return _Target(sale_id, item.item_id, item.limit, item.price, item.ends_at)


async def sold_out_now(engine: AsyncEngine, gate: ClaimGate, sale_id: int, variant_id: int) -> bool:
    """Whether a claim for this item of a running sale would be turned away sold out now, whoever makes it:
    the gate has no unit of it left. False whenever that is not certain (no gate, not loaded, not running,
    or the item is not among those this process keeps: this never reads the database)."""
    kept = _recent_items.get((sale_id, variant_id, str(engine.url)))
    if kept is None or time.monotonic() - kept[0] >= _ITEM_SECONDS:
        return False
    item, now = kept[1], utcnow()
    if item is None or item.status != SaleStatus.scheduled.value or not item.starts_at <= now < item.ends_at:
        return False
    return await gate.units_left(sale_id, item.item_id) == 0


async def claim(
    session: AsyncSession,
    gate: ClaimGate,
    *,
    sale_id: int,
    variant_id: int,
    identity: Identity,
    hold_seconds: int,
    into_cart: bool = False,
) -> Claimed:
    if identity.user_id is None:
        raise NotAuthenticated("sign in to claim flash-sale units (one account, one limit)")
    owner = identity.owner_key
    now = utcnow()
    target = await _target(session, sale_id, variant_id, now)

    verdict = await gate.take(sale_id, target.item_id, owner, target.limit)
    if verdict is Verdict.not_loaded:
        verdict = await _load_then_take(session, gate, target, owner)
    if verdict is Verdict.sold_out:
        raise SoldOut("sold out")
    if verdict is Verdict.limit_reached:
        raise LimitReached(f"at most {target.limit} per customer in this sale")
    try:
        return await _take_unit(session, target, variant_id, identity, now, hold_seconds, into_cart=into_cart)
    except BaseException as refused:
        await session.rollback()
        if verdict is Verdict.taken:
            await gate.give_back(sale_id, target.item_id, owner)
        if isinstance(refused, SoldOut):  # or the sale changed since this process last read it: say which
            forget_sale(sale_id)
            await _target(session, sale_id, variant_id, utcnow())
        raise


# sales whose gate this process is loading: the first claims of a sale whose gate is not loaded yet (it just
# started, or Redis restarted) wait for one load instead of each reading the sale from the database
_loading: dict[tuple[asyncio.AbstractEventLoop, int], asyncio.Lock] = {}


async def _load_then_take(session: AsyncSession, gate: ClaimGate, target: _Target, owner: str) -> Verdict:
    key = (asyncio.get_running_loop(), target.sale_id)
    lock = _loading.setdefault(key, asyncio.Lock())
    async with lock:
        verdict = await gate.take(target.sale_id, target.item_id, owner, target.limit)
        if verdict is Verdict.not_loaded:  # nobody loaded it while this claim waited
            await load_gate(session, gate, target.sale_id, overwrite=False)
            verdict = await gate.take(target.sale_id, target.item_id, owner, target.limit)
    if not lock.locked():
        _loading.pop(key, None)
    return verdict


async def _take_unit(
    session: AsyncSession,
    target: _Target,
    variant_id: int,
    identity: Identity,
    now: datetime,
    hold_seconds: int,
    *,
    into_cart: bool,
) -> Claimed:
    owner = identity.owner_key
    # 1. the shopper's count in this sale, under the limit (an upsert: the row is the per-shopper lock), taken
    # before the row every claim of the item queues on
    insert = insert_for(session)
    counted = (
        await session.execute(
            insert(FlashSaleBuyer)
            .values(sale_id=target.sale_id, owner_key=owner, claimed=1)
            .on_conflict_do_update(
                index_elements=[FlashSaleBuyer.sale_id, FlashSaleBuyer.owner_key],
                set_={"claimed": FlashSaleBuyer.claimed + 1},
                where=FlashSaleBuyer.claimed < target.limit,
            )
            .returning(FlashSaleBuyer.claimed)
        )
    ).one_or_none()
    if counted is None:
        raise LimitReached(f"at most {target.limit} per customer in this sale")
    # 2. a unit of the item, while the sale runs and units remain (the item row is the lock claims queue on: it
    # is held from here to the commit)
    taken = (
        await session.execute(
            update(FlashSaleItem)
            .where(
                FlashSaleItem.id == target.item_id,
                FlashSaleItem.units_claimed < FlashSaleItem.units_allotted,
                select(FlashSale.id)
                .where(
                    FlashSale.id == FlashSaleItem.sale_id,
                    FlashSale.status == SaleStatus.scheduled.value,
                    FlashSale.starts_at <= now,
                    FlashSale.ends_at > now,
                )
                .exists(),
            )
            .values(
                units_claimed=FlashSaleItem.units_claimed + 1, claims_total=FlashSaleItem.claims_total + 1
            )
            .returning(*_figures())
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
    if taken is None:
        raise SoldOut("sold out")
    # 3. the stock itself, held for the shopper's checkout
    try:
        hold = await inventory.reserve(
            session, variant_id, 1, owner=owner, source=source_of(target.sale_id), hold_seconds=hold_seconds
        )
    except inventory.OutOfStock:
        raise SoldOut("sold out") from None
    claim_row = FlashClaim(
        sale_id=target.sale_id,
        item_id=target.item_id,
        variant_id=variant_id,
        owner_key=owner,
        user_id=identity.user_id,
        reservation_id=hold.id,
        unit_price_cents=target.price,
        hold_expires_at=now + timedelta(seconds=hold_seconds),
    )
    session.add(claim_row)
    if into_cart:  # the cart after the holds, as everywhere (commerce/locks.py)
        await add_held_unit(session, owner, variant_id)
    await session.flush()
    left = taken.units_allotted - taken.units_claimed
    _announce_figures(session, target.sale_id, taken)
    await session.commit()
    return Claimed(
        claim_id=claim_row.id,
        sale_id=target.sale_id,
        item_id=target.item_id,
        variant_id=variant_id,
        unit_price_cents=target.price,
        hold_expires_at=claim_row.hold_expires_at,
        units_left=left,
    )


async def claim_for_checkout(
    session: AsyncSession,
    gate: ClaimGate,
    *,
    sale_id: int,
    variant_id: int,
    identity: Identity,
    hold_seconds: int,
) -> Claimed:
    """Claim a unit and put it in the shopper's cart, in one transaction: their checkout then adopts the
    hold at the sale price."""
    return await claim(
        session,
        gate,
        sale_id=sale_id,
        variant_id=variant_id,
        identity=identity,
        hold_seconds=hold_seconds,
        into_cart=True,
    )


@dataclass(frozen=True, slots=True)
class HoldEnded:
    sale_id: int
    item_id: int
    owner_key: str
    returned: bool  # the unit went back on sale (the gate gets it back too)
    late_sale: bool = False  # a claim released earlier was paid after all: its unit is gone again


async def _end_claim(
    session: AsyncSession, reservation_id: int, was: ClaimStatus, becomes: ClaimStatus
) -> Any:
    return (
        await session.execute(
            update(FlashClaim)
            .where(FlashClaim.reservation_id == reservation_id, FlashClaim.status == was.value)
            .values(status=becomes.value, updated_at=utcnow())
            .returning(FlashClaim.sale_id, FlashClaim.item_id, FlashClaim.owner_key)
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()


async def _count(session: AsyncSession, ended: Any, delta: int, *, paid: int = 0) -> None:
    """Move the item's and the shopper's counts by `delta` units (never below zero)."""
    if delta or paid:
        await session.execute(
            update(FlashSaleItem)
            .where(FlashSaleItem.id == ended.item_id, FlashSaleItem.units_claimed + delta >= 0)
            .values(
                units_claimed=FlashSaleItem.units_claimed + delta, units_paid=FlashSaleItem.units_paid + paid
            )
            .execution_options(synchronize_session=False)
        )
    if delta:
        await session.execute(
            update(FlashSaleBuyer)
            .where(
                FlashSaleBuyer.sale_id == ended.sale_id,
                FlashSaleBuyer.owner_key == ended.owner_key,
                FlashSaleBuyer.claimed + delta >= 0,
            )
            .values(claimed=FlashSaleBuyer.claimed + delta)
            .execution_options(synchronize_session=False)
        )


async def hold_ended(session: AsyncSession, reservation_id: int, *, paid: bool) -> HoldEnded | None:
    """A claim's hold ended: paid (sold) or released (back on sale). Once per claim; commits.

    None when the reservation is no claim's, or this end was already counted."""
    late = False
    if paid:
        ended = await _end_claim(session, reservation_id, ClaimStatus.held, ClaimStatus.paid)
        if ended is None:  # paid after its hold ran out and the unit went back: sold after all
            ended = await _end_claim(session, reservation_id, ClaimStatus.released, ClaimStatus.paid)
            late = ended is not None
        if ended is None:
            return None
        await _count(session, ended, +1 if late else 0, paid=1)
    else:
        ended = await _end_claim(session, reservation_id, ClaimStatus.held, ClaimStatus.released)
        if ended is None:
            return None
        await _count(session, ended, -1)
    await _announce_item(session, ended.sale_id, ended.item_id)
    await session.commit()
    return HoldEnded(ended.sale_id, ended.item_id, ended.owner_key, returned=not paid, late_sale=late)


@dataclass(frozen=True, slots=True)
class OwnClaim:
    variant_id: int
    status: str  # held (waiting for checkout) or paid
    hold_expires_at: datetime


@dataclass(frozen=True, slots=True)
class OwnSale:
    """What a shopper has of a sale: units claimed against its limit (held and paid), and those claims."""

    sale_id: int
    per_customer_limit: int
    claimed: int
    claims: list[OwnClaim]


async def claims_of(session: AsyncSession, owner_key: str, *, since: datetime) -> list[OwnSale]:
    """The shopper's held and paid claims in published sales that end after `since` (read only)."""
    live = (FlashSale.status == SaleStatus.scheduled.value, FlashSale.ends_at > since)
    counted = (
        await session.execute(
            select(FlashSaleBuyer.sale_id, FlashSaleBuyer.claimed, FlashSale.per_customer_limit)
            .join(FlashSale, FlashSale.id == FlashSaleBuyer.sale_id)
            .where(FlashSaleBuyer.owner_key == owner_key, *live)
            .order_by(FlashSaleBuyer.sale_id)
            .limit(100)
        )
    ).all()
    if not counted:
        return []
    claims: dict[int, list[OwnClaim]] = {}
    for row in await session.execute(
        select(FlashClaim.sale_id, FlashClaim.variant_id, FlashClaim.status, FlashClaim.hold_expires_at)
        .where(
            FlashClaim.owner_key == owner_key,
            FlashClaim.sale_id.in_([r.sale_id for r in counted]),
            FlashClaim.status.in_([ClaimStatus.held.value, ClaimStatus.paid.value]),
        )
        .order_by(FlashClaim.id)
    ):
        claims.setdefault(row.sale_id, []).append(OwnClaim(row.variant_id, row.status, row.hold_expires_at))
    return [OwnSale(r.sale_id, r.per_customer_limit, r.claimed, claims.get(r.sale_id, [])) for r in counted]


def item_state(item: Any) -> dict[str, Any]:
    return {
        "item_id": item.id,
        "variant_id": item.variant_id,
        "sale_price_cents": item.sale_price_cents,
        "units_allotted": item.units_allotted,
        "units_left": max(item.units_allotted - item.units_claimed, 0),
    }


def item_stats(item: Any) -> dict[str, Any]:
    return {
        **item_state(item),
        "units_claimed": item.units_claimed,
        "units_paid": item.units_paid,
        "claims_total": item.claims_total,
        "revenue_cents": item.units_paid * item.sale_price_cents,
    }


def _figures() -> tuple[Any, ...]:
    return (
        FlashSaleItem.id,
        FlashSaleItem.variant_id,
        FlashSaleItem.sale_price_cents,
        FlashSaleItem.units_allotted,
        FlashSaleItem.units_claimed,
        FlashSaleItem.units_paid,
        FlashSaleItem.claims_total,
    )


async def _announce_item(session: AsyncSession, sale_id: int, item_id: int) -> None:
    item = (await session.execute(select(*_figures()).where(FlashSaleItem.id == item_id))).one()
    _announce_figures(session, sale_id, item)


def _announce_figures(session: AsyncSession, sale_id: int, item: Any) -> None:
    """Units left (public, `sale:{id}`) and the item's figures (staff, `sale-admin:{id}`), after commit."""
    record(session, ItemUnits(sale_id=sale_id, **item_state(item)), [sale_channel(sale_id)])
    record(session, ItemStats(sale_id=sale_id, **item_stats(item)), [staff_channel(sale_id)])


async def load_gate(session: AsyncSession, gate: ClaimGate, sale_id: int, *, overwrite: bool) -> None:
    """Set the gate's counters of a sale from the database (the source of truth)."""
    ends_at = await session.scalar(select(FlashSale.ends_at).where(FlashSale.id == sale_id))
    if ends_at is None:
        return
    items = (
        await session.execute(
            select(FlashSaleItem.id, FlashSaleItem.units_allotted, FlashSaleItem.units_claimed).where(
                FlashSaleItem.sale_id == sale_id
            )
        )
    ).all()
    owners = (
        await session.execute(
            select(FlashSaleBuyer.owner_key, FlashSaleBuyer.claimed).where(FlashSaleBuyer.sale_id == sale_id)
        )
    ).all()
    await session.rollback()
    await gate.load(
        sale_id,
        {i.id: i.units_allotted - i.units_claimed for i in items},
        {o.owner_key: o.claimed for o in owners},
        ends_at,
        overwrite=overwrite,
    )
