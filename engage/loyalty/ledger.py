"""The ledger: append-only entries of points and store credit; balances are their sums.

Every write locks the (user, unit) balance row first (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's
`BEGIN IMMEDIATE` serialises writers), skips an entry whose `(unit, kind, key)` is already written (the same
event twice writes once), appends, and moves the cached sums in the same transaction. A spend checks the
locked balance, so concurrent spends can never take more than it holds. `check_ledger` recomputes the sums.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.loyalty.events import BalanceChanged
from engage.loyalty.models import Balance, Bucket, Kind, LedgerEntry, Unit
from engage.platform.clock import utcnow
from engage.platform.db import insert_for
from engage.platform.errors import Conflict
from engage.platform.events import record, user_channel

# kinds that are no activity for the inactivity rule (the clock, not the shopper, wrote them)
_PASSIVE = {Kind.expired.value, Kind.reversed.value}


class InsufficientBalance(Conflict):
    code = "insufficient_balance"


async def lock(session: AsyncSession, user_id: int, unit: Unit) -> Balance:
    """The (user, unit) balance row, made if missing, locked for this transaction."""
    insert = insert_for(session)
    await session.execute(
        insert(Balance)
        .values(user_id=user_id, unit=unit.value, available=0, pending=0)
        .on_conflict_do_nothing()
    )
    balance = await session.get(Balance, (user_id, unit.value), with_for_update=True, populate_existing=True)
    assert balance is not None
    return balance


async def written(session: AsyncSession, unit: Unit, kind: Kind, key: str) -> bool:
    return (
        await session.scalar(
            select(LedgerEntry.id).where(
                LedgerEntry.unit == unit.value, LedgerEntry.kind == kind.value, LedgerEntry.key == key
            )
        )
        is not None
    )


async def post(
    session: AsyncSession,
    balance: Balance,
    *,
    kind: Kind,
    amount: int,
    key: str,
    source: str,
    actor: str = "system",
    note: str = "",
    bucket: Bucket = Bucket.available,
    transfer: bool = False,
    base_cents: int = 0,
    available_at: datetime | None = None,
    expires_at: datetime | None = None,
    at: datetime | None = None,
) -> LedgerEntry | None:
    """Append one entry to the locked `balance`'s ledger; None (nothing written) when its key was written
    before or the amount is zero. Does not commit."""
    unit = Unit(balance.unit)
    if amount == 0 or await written(session, unit, kind, key):
        return None
    now = at or utcnow()
    entry = LedgerEntry(
        user_id=balance.user_id,
        unit=unit.value,
        kind=kind.value,
        bucket=bucket.value,
        amount=amount,
        transfer=transfer,
        key=key[:160],
        source=source[:80],
        actor=actor[:80],
        note=note[:300],
        base_cents=base_cents,
        available_at=available_at,
        expires_at=expires_at,
        created_at=now,
    )
    session.add(entry)
    if bucket is Bucket.pending:
        balance.pending += amount
    else:
        balance.available += amount
    if kind.value not in _PASSIVE and not transfer:
        balance.last_activity_at = now
    balance.updated_at = now
    await session.flush()
    record(
        session,
        BalanceChanged(
            user_id=balance.user_id, unit=unit.value, available=balance.available, pending=balance.pending
        ),
        channels=[user_channel(balance.user_id)],
    )
    return entry


async def spend(
    session: AsyncSession,
    balance: Balance,
    amount: int,
    *,
    kind: Kind,
    key: str,
    source: str,
    actor: str,
    note: str = "",
) -> LedgerEntry | None:
    """Take `amount` (> 0) from the locked balance, or InsufficientBalance: a balance that is negative (after
    a reversal) or short spends nothing."""
    if amount <= 0:
        return None
    if balance.available < amount:
        raise InsufficientBalance(
            f"only {max(balance.available, 0)} {balance.unit} can be used", available=balance.available
        )
    return await post(
        session, balance, kind=kind, amount=-amount, key=key, source=source, actor=actor, note=note
    )


async def net_of(session: AsyncSession, user_id: int, unit: Unit, source: str, kinds: list[Kind]) -> int:
    """The sum of a source's entries of these kinds (e.g. what an order spent: negative)."""
    return int(
        await session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.user_id == user_id,
                LedgerEntry.unit == unit.value,
                LedgerEntry.source == source,
                LedgerEntry.kind.in_([k.value for k in kinds]),
            )
        )
        or 0
    )


async def count_of(session: AsyncSession, user_id: int, unit: Unit, source: str) -> int:
    return int(
        await session.scalar(
            select(func.count(LedgerEntry.id)).where(
                LedgerEntry.user_id == user_id, LedgerEntry.unit == unit.value, LedgerEntry.source == source
            )
        )
        or 0
    )


@dataclass(frozen=True, slots=True)
class Sums:
    available: int
    pending: int


async def sums(session: AsyncSession, user_id: int, unit: Unit) -> Sums:
    """The balance as the cached row has it (0, 0 for a user who has none)."""
    row = await session.get(Balance, (user_id, unit.value))
    return Sums(row.available, row.pending) if row is not None else Sums(0, 0)


@dataclass(frozen=True, slots=True)
class Mismatch:
    user_id: int
    unit: str
    cached: tuple[int, int]
    ledger: tuple[int, int]


async def check_ledger(session: AsyncSession, user_id: int | None = None) -> list[Mismatch]:
    """Recompute every balance from the entries; the balances that disagree (none, normally)."""
    query = select(
        LedgerEntry.user_id,
        LedgerEntry.unit,
        func.coalesce(
            func.sum(case((LedgerEntry.bucket == Bucket.available.value, LedgerEntry.amount), else_=0)), 0
        ),
        func.coalesce(
            func.sum(case((LedgerEntry.bucket == Bucket.pending.value, LedgerEntry.amount), else_=0)), 0
        ),
    ).group_by(LedgerEntry.user_id, LedgerEntry.unit)
    cached_query = select(Balance)
    if user_id is not None:
        query = query.where(LedgerEntry.user_id == user_id)
        cached_query = cached_query.where(Balance.user_id == user_id)
    truth = {(r[0], r[1]): (int(r[2]), int(r[3])) for r in await session.execute(query)}
    cached = {(b.user_id, b.unit): (b.available, b.pending) for b in await session.scalars(cached_query)}
    wrong = []
    for key in sorted(set(truth) | set(cached)):
        if truth.get(key, (0, 0)) != cached.get(key, (0, 0)):
            wrong.append(Mismatch(key[0], key[1], cached.get(key, (0, 0)), truth.get(key, (0, 0))))
    return wrong


async def recompute(session: AsyncSession, user_id: int, unit: Unit) -> Balance:
    """Repair a balance row from its entries (after `check_ledger` found it wrong). Does not commit."""
    balance = await lock(session, user_id, unit)
    rows = await session.execute(
        select(LedgerEntry.bucket, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.user_id == user_id, LedgerEntry.unit == unit.value)
        .group_by(LedgerEntry.bucket)
    )
    by_bucket = {bucket: int(total or 0) for bucket, total in rows}
    balance.available = by_bucket.get(Bucket.available.value, 0)
    balance.pending = by_bucket.get(Bucket.pending.value, 0)
    return balance


async def entries_of(
    session: AsyncSession, user_id: int, unit: Unit, *, before_id: int | None = None, limit: int = 50
) -> list[LedgerEntry]:
    query = select(LedgerEntry).where(LedgerEntry.user_id == user_id, LedgerEntry.unit == unit.value)
    if before_id is not None:
        query = query.where(LedgerEntry.id < before_id)
    return list((await session.scalars(query.order_by(LedgerEntry.id.desc()).limit(limit))).all())


def now_or(at: datetime | None) -> datetime:
    return at or utcnow()
