"""Reservations: stock held for an owner for a while (a checkout, a flash-sale claim).

A reservation ends exactly once: its status moves from `active` by one conditional UPDATE, so a release, an
expiry and a sale racing for it cannot both count it. Nothing here commits; the caller's transaction does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.inventory.announce import reservation_ended
from commerce.inventory.models import MovementKind, Reservation, ReservationStatus
from commerce.inventory.stock import OutOfStock, move, sell
from engage.platform.clock import as_utc, utcnow
from engage.platform.db import rows_matched
from engage.platform.errors import InvalidInput, NotFound

# Expired holds of a variant are given back (at most this many) before a reservation is refused for it.
_RECLAIM_BATCH = 100


@dataclass(frozen=True, slots=True)
class Hold:
    id: int
    variant_id: int
    quantity: int
    owner: str
    source: str
    status: str
    expires_at: datetime

    @property
    def active(self) -> bool:
        return self.status == ReservationStatus.active.value and self.expires_at > utcnow()


def _hold(r: Reservation) -> Hold:
    return Hold(r.id, r.variant_id, r.quantity, r.owner_key, r.source, r.status, as_utc(r.expires_at))


async def reserve(
    session: AsyncSession,
    variant_id: int,
    quantity: int,
    *,
    owner: str,
    source: str,
    hold_seconds: int,
) -> Hold:
    """Hold `quantity` units for `owner` for `hold_seconds`; OutOfStock if fewer are available."""
    if quantity <= 0:
        raise InvalidInput("reserve a positive quantity", field="quantity")
    reservation = Reservation(
        variant_id=variant_id,
        quantity=quantity,
        owner_key=owner,
        source=source,
        expires_at=utcnow() + timedelta(seconds=hold_seconds),
    )
    session.add(reservation)
    await session.flush()
    try:
        await _hold_stock(session, reservation)
    except OutOfStock:
        # Holds that ran out but were not collected yet still count as reserved: collect them, try again.
        if not await expire_due(session, variant_id=variant_id, limit=_RECLAIM_BATCH):
            await session.delete(reservation)
            raise
        await _hold_stock(session, reservation)
    return _hold(reservation)


async def _hold_stock(session: AsyncSession, reservation: Reservation) -> None:
    await move(
        session,
        reservation.variant_id,
        MovementKind.reservation,
        reserved_delta=reservation.quantity,
        reference=f"reservation:{reservation.id}",
        note=reservation.source,
    )


async def _end(session: AsyncSession, reservation_id: int, status: ReservationStatus) -> Reservation | None:
    """Move an active reservation to `status`; None if it had already ended."""
    row = (
        await session.execute(
            update(Reservation)
            .where(Reservation.id == reservation_id, Reservation.status == ReservationStatus.active.value)
            .values(status=status.value, ended_at=utcnow())
            .returning(Reservation)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
    ).scalar_one_or_none()
    return row


async def release(session: AsyncSession, reservation_id: int, *, reason: str = "released") -> bool:
    """Give the units back; False if the reservation had already ended (so releasing twice is harmless)."""
    ended = await _end(session, reservation_id, ReservationStatus.released)
    if ended is None:
        return False
    await _give_back(session, ended, reason)
    return True


async def _give_back(session: AsyncSession, r: Reservation, reason: str) -> None:
    await move(
        session,
        r.variant_id,
        MovementKind.release,
        reserved_delta=-r.quantity,
        reference=f"reservation:{r.id}",
        note=f"{reason} ({r.source})",
    )
    reservation_ended(
        session,
        reservation_id=r.id,
        variant_id=r.variant_id,
        quantity=r.quantity,
        owner=r.owner_key,
        source=r.source,
        reason=reason,
    )


async def consume(session: AsyncSession, reservation_id: int, *, reference: str) -> None:
    """Turn a reservation into a sale. If its hold already ended, sell from available stock instead
    (OutOfStock if none is left): a late payment still gets its unit when there is one."""
    ended = await _end(session, reservation_id, ReservationStatus.consumed)
    if ended is not None:
        await move(
            session,
            ended.variant_id,
            MovementKind.sale,
            on_hand_delta=-ended.quantity,
            reserved_delta=-ended.quantity,
            reference=reference,
            note=f"reservation:{ended.id}",
        )
        reservation_ended(
            session,
            reservation_id=ended.id,
            variant_id=ended.variant_id,
            quantity=ended.quantity,
            owner=ended.owner_key,
            source=ended.source,
            reason="consumed",
        )
        return
    # The hold had ended: claim it as sold (once), then take the units from available stock.
    late = (
        await session.execute(
            update(Reservation)
            .where(
                Reservation.id == reservation_id,
                Reservation.status.in_([ReservationStatus.released.value, ReservationStatus.expired.value]),
            )
            .values(status=ReservationStatus.consumed.value)
            .returning(Reservation.variant_id, Reservation.quantity)
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
    if late is not None:
        await sell(session, late.variant_id, late.quantity, reference=reference)
        return
    if await session.get(Reservation, reservation_id) is None:
        raise NotFound(f"reservation {reservation_id} does not exist")
    # already consumed: consuming twice is harmless


async def extend(session: AsyncSession, reservation_id: int, *, until: datetime) -> bool:
    """Push an active hold's expiry to `until` (never shortens it); False if it had ended."""
    result = await session.execute(
        update(Reservation)
        .where(
            Reservation.id == reservation_id,
            Reservation.status == ReservationStatus.active.value,
        )
        .values(expires_at=until)
        .execution_options(synchronize_session=False)
    )
    return bool(rows_matched(result))


async def expire_due(
    session: AsyncSession, *, now: datetime | None = None, variant_id: int | None = None, limit: int = 500
) -> int:
    """Give back holds whose time ran out (oldest first); returns how many. The periodic job calls this."""
    query = (
        select(Reservation.id)
        .where(
            Reservation.status == ReservationStatus.active.value,
            Reservation.expires_at <= (now or utcnow()),
        )
        .order_by(Reservation.expires_at, Reservation.id)
        .limit(limit)
    )
    if variant_id is not None:
        query = query.where(Reservation.variant_id == variant_id)
    count = 0
    for reservation_id in (await session.scalars(query)).all():
        ended = await _end(session, reservation_id, ReservationStatus.expired)
        if ended is not None:
            await _give_back(session, ended, "expired")
            count += 1
    return count


async def get(session: AsyncSession, reservation_id: int) -> Hold | None:
    r = await session.get(Reservation, reservation_id, populate_existing=True)
    return _hold(r) if r is not None else None


async def of_owner(session: AsyncSession, owner: str, *, active_only: bool = True) -> list[Hold]:
    query = select(Reservation).where(Reservation.owner_key == owner).order_by(Reservation.id)
    if active_only:
        query = query.where(
            Reservation.status == ReservationStatus.active.value, Reservation.expires_at > utcnow()
        )
    return [_hold(r) for r in (await session.scalars(query)).all()]


async def of_source(session: AsyncSession, source: str) -> list[Hold]:
    rows = await session.scalars(
        select(Reservation).where(Reservation.source == source).order_by(Reservation.id)
    )
    return [_hold(r) for r in rows.all()]


async def hand_over(session: AsyncSession, from_owner: str, to_owner: str) -> int:
    """A guest's active holds follow them into their account at sign-in."""
    result = await session.execute(
        update(Reservation)
        .where(Reservation.owner_key == from_owner, Reservation.status == ReservationStatus.active.value)
        .values(owner_key=to_owner)
        .execution_options(synchronize_session=False)
    )
    return rows_matched(result)


async def release_all(session: AsyncSession, ids: Sequence[int], *, reason: str) -> int:
    count = 0
    for reservation_id in sorted(ids):
        count += await release(session, reservation_id, reason=reason)
    return count
