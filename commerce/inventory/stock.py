"""Stock levels and the ledger. Every change is one guarded UPDATE plus one ledger row, never a read-then-write.

The guard keeps `0 <= reserved <= on_hand` in the WHERE clause: a blocked UPDATE re-checks it (PostgreSQL's
Read Committed; SQLite serialises writers), so concurrent buyers can never take more than there is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import BigInteger, any_, cast, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.inventory.announce import StockChange, stock_moved
from commerce.inventory.models import MovementKind, Reservation, ReservationStatus, StockLevel, StockMovement
from engage.platform.db import rows_matched
from engage.platform.errors import Conflict, InvalidInput, NotFound


class OutOfStock(Conflict):
    code = "out_of_stock"


@dataclass(frozen=True, slots=True)
class Level:
    variant_id: int
    on_hand: int
    reserved: int
    threshold: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


async def move(
    session: AsyncSession,
    variant_id: int,
    kind: MovementKind,
    *,
    on_hand_delta: int = 0,
    reserved_delta: int = 0,
    reference: str = "",
    note: str = "",
) -> Level:
    """Apply one movement if it keeps the level valid; raise OutOfStock otherwise. Does not commit."""
    on_hand = StockLevel.on_hand + on_hand_delta
    reserved = StockLevel.reserved + reserved_delta
    row = (
        await session.execute(
            update(StockLevel)
            .where(StockLevel.variant_id == variant_id, on_hand >= 0, reserved >= 0, reserved <= on_hand)
            .values(on_hand=on_hand, reserved=reserved)
            .returning(StockLevel.on_hand, StockLevel.reserved, StockLevel.low_stock_threshold)
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
    if row is None:
        level = await get_level(session, variant_id)
        if level is None:
            raise NotFound(f"variant {variant_id} has no stock record", variant_id=variant_id)
        wanted = max(reserved_delta, -on_hand_delta, 0)
        raise OutOfStock(
            f"only {max(level.available, 0)} left" if level.available > 0 else "sold out",
            variant_id=variant_id,
            available=max(level.available, 0),
            requested=wanted,
        )
    session.add(
        StockMovement(
            variant_id=variant_id,
            kind=kind.value,
            on_hand_delta=on_hand_delta,
            reserved_delta=reserved_delta,
            reference=reference[:120],
            note=note[:300],
        )
    )
    level = Level(variant_id, row.on_hand, row.reserved, row.low_stock_threshold)
    previous = (row.on_hand - on_hand_delta) - (row.reserved - reserved_delta)
    await stock_moved(
        session,
        StockChange(variant_id, level.on_hand, level.available, previous, level.threshold),
    )
    return level


async def get_level(session: AsyncSession, variant_id: int) -> Level | None:
    row = await session.get(StockLevel, variant_id, populate_existing=True)
    if row is None:
        return None
    return Level(variant_id, row.on_hand, row.reserved, row.low_stock_threshold)


async def levels(session: AsyncSession, variant_ids: Iterable[int]) -> dict[int, Level]:
    ids = sorted(set(variant_ids))
    if not ids:
        return {}
    wanted = (
        # one array parameter: an IN list is a new statement for PostgreSQL to prepare at each count of ids
        StockLevel.variant_id == any_(cast(ids, ARRAY(BigInteger)))
        if session.get_bind().dialect.name == "postgresql"
        else StockLevel.variant_id.in_(ids)
    )
    rows = await session.execute(
        select(
            StockLevel.variant_id, StockLevel.on_hand, StockLevel.reserved, StockLevel.low_stock_threshold
        ).where(wanted)
    )
    return {r.variant_id: Level(r.variant_id, r.on_hand, r.reserved, r.low_stock_threshold) for r in rows}


async def track(
    session: AsyncSession, variant_id: int, *, on_hand: int = 0, threshold: int, reference: str = ""
) -> Level:
    """Start counting a variant's stock (idempotent): the first units arrive as a restock movement."""
    if on_hand < 0:
        raise InvalidInput("stock cannot be negative", field="stock")
    if await session.get(StockLevel, variant_id) is None:
        session.add(StockLevel(variant_id=variant_id, on_hand=0, reserved=0, low_stock_threshold=threshold))
        await session.flush()
        if on_hand > 0:
            return await restock(session, variant_id, on_hand, reference=reference, note="initial stock")
    level = await get_level(session, variant_id)
    assert level is not None
    return level


async def restock(
    session: AsyncSession, variant_id: int, quantity: int, *, reference: str = "", note: str = ""
) -> Level:
    if quantity <= 0:
        raise InvalidInput("restock a positive quantity", field="quantity")
    return await move(
        session, variant_id, MovementKind.restock, on_hand_delta=quantity, reference=reference, note=note
    )


async def adjust(
    session: AsyncSession,
    variant_id: int,
    *,
    on_hand: int | None = None,
    delta: int | None = None,
    reference: str = "",
    note: str = "",
) -> Level:
    """Correct the count (stocktake, damage): to an absolute `on_hand`, or by `delta`."""
    if (on_hand is None) == (delta is None):
        raise InvalidInput("give either on_hand or delta")
    if delta is None:
        assert on_hand is not None
        if on_hand < 0:
            raise InvalidInput("stock cannot be negative", field="on_hand")
        current = await session.scalar(
            select(StockLevel.on_hand).where(StockLevel.variant_id == variant_id).with_for_update()
        )
        if current is None:
            raise NotFound(f"variant {variant_id} has no stock record", variant_id=variant_id)
        delta = on_hand - current
    if delta == 0:
        level = await get_level(session, variant_id)
        assert level is not None
        return level
    try:
        return await move(
            session, variant_id, MovementKind.adjustment, on_hand_delta=delta, reference=reference, note=note
        )
    except OutOfStock as exc:
        raise Conflict(
            "cannot count fewer units than are reserved or on hand", code="stock_reserved", **exc.extra
        ) from None


async def sell(session: AsyncSession, variant_id: int, quantity: int, *, reference: str) -> Level:
    """A sale straight from available stock (no reservation held for it)."""
    return await move(session, variant_id, MovementKind.sale, on_hand_delta=-quantity, reference=reference)


async def return_to_stock(
    session: AsyncSession, variant_id: int, quantity: int, *, reference: str, note: str = ""
) -> Level:
    """Units coming back with a refund."""
    if quantity <= 0:
        raise InvalidInput("return a positive quantity", field="quantity")
    return await move(
        session,
        variant_id,
        MovementKind.refund_return,
        on_hand_delta=quantity,
        reference=reference,
        note=note,
    )


async def set_threshold(session: AsyncSession, variant_id: int, threshold: int) -> None:
    if threshold < 0:
        raise InvalidInput("threshold cannot be negative", field="threshold")
    result = await session.execute(
        update(StockLevel)
        .where(StockLevel.variant_id == variant_id)
        .values(low_stock_threshold=threshold)
        .execution_options(synchronize_session=False)
    )
    if rows_matched(result) == 0:
        raise NotFound(f"variant {variant_id} has no stock record", variant_id=variant_id)


@dataclass(frozen=True, slots=True)
class LedgerCheck:
    """What the ledger says against what the level row says, for one variant."""

    variant_id: int
    on_hand: int
    reserved: int
    ledger_on_hand: int
    ledger_reserved: int
    active_reserved: int

    @property
    def consistent(self) -> bool:
        return (
            self.on_hand == self.ledger_on_hand
            and self.reserved == self.ledger_reserved == self.active_reserved
        )


async def check_ledger(session: AsyncSession, variant_ids: Iterable[int] | None = None) -> list[LedgerCheck]:
    """Recompute on hand and reserved from the ledger and the active reservations, beside the stored figures."""
    ledger = (
        select(
            StockMovement.variant_id,
            func.sum(StockMovement.on_hand_delta).label("on_hand"),
            func.sum(StockMovement.reserved_delta).label("reserved"),
        )
        .group_by(StockMovement.variant_id)
        .subquery()
    )
    held = (
        select(Reservation.variant_id, func.sum(Reservation.quantity).label("reserved"))
        .where(Reservation.status == ReservationStatus.active.value)
        .group_by(Reservation.variant_id)
        .subquery()
    )
    query = (
        select(
            StockLevel.variant_id,
            StockLevel.on_hand,
            StockLevel.reserved,
            func.coalesce(ledger.c.on_hand, 0),
            func.coalesce(ledger.c.reserved, 0),
            func.coalesce(held.c.reserved, 0),
        )
        .outerjoin(ledger, ledger.c.variant_id == StockLevel.variant_id)
        .outerjoin(held, held.c.variant_id == StockLevel.variant_id)
        .order_by(StockLevel.variant_id)
    )
    if variant_ids is not None:
        query = query.where(StockLevel.variant_id.in_(list(variant_ids)))
    return [LedgerCheck(*map(int, row)) for row in await session.execute(query)]


async def recompute(session: AsyncSession, variant_id: int) -> Level:
    """Rebuild a level row from its ledger (repair after manual database edits). Does not commit."""
    checks = await check_ledger(session, [variant_id])
    if not checks:
        raise NotFound(f"variant {variant_id} has no stock record", variant_id=variant_id)
    check = checks[0]
    await session.execute(
        update(StockLevel)
        .where(StockLevel.variant_id == variant_id)
        .values(on_hand=check.ledger_on_hand, reserved=check.ledger_reserved)
        .execution_options(synchronize_session=False)
    )
    level = await get_level(session, variant_id)
    assert level is not None
    return level
