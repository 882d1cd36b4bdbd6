"""Expiry: each spendable lot (released points, a bonus, an adjustment, credit granted) ends at its
`expires_at`; spending and reversals use up the lots that end first. Everything also ends after the rules'
months of inactivity. The expired amount is a function of the ledger at a moment, so the job can run any
number of times: its key is the cumulative amount expired."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.loyalty import ledger
from engage.loyalty.models import Balance, Bucket, Kind, LedgerEntry, Unit
from engage.loyalty.rules import Rules, add_months
from engage.platform.clock import utcnow

_RETURNS = {Kind.redeemed.value, Kind.restored.value}


@dataclass(frozen=True, slots=True)
class Lot:
    expires_at: datetime
    amount: int  # what is left of it


async def _available_entries(session: AsyncSession, user_id: int, unit: Unit) -> list[LedgerEntry]:
    return list(
        (
            await session.scalars(
                select(LedgerEntry).where(
                    LedgerEntry.user_id == user_id,
                    LedgerEntry.unit == unit.value,
                    LedgerEntry.bucket == Bucket.available.value,
                )
            )
        ).all()
    )


def _lots(entries: list[LedgerEntry]) -> tuple[list[Lot], int, int]:
    """Lots with an end, what debits used (oldest end first), and what expired already."""
    lots = sorted(
        (Lot(e.expires_at, e.amount) for e in entries if e.amount > 0 and e.expires_at is not None),
        key=lambda lot: lot.expires_at,
    )
    debits = -sum(e.amount for e in entries if e.amount < 0 and e.kind != Kind.expired.value)
    # a spend given back (its order refunded) uses nothing up: the return cancels it
    debits -= sum(e.amount for e in entries if e.amount > 0 and e.kind in _RETURNS)
    debits = max(0, debits)
    # credits without an end are used last: debits beyond them fall on the dated lots
    expired = -sum(e.amount for e in entries if e.kind == Kind.expired.value)
    return lots, debits, expired


def remaining_lots(entries: list[LedgerEntry]) -> list[Lot]:
    """What is left of each dated lot after debits and expiries (FIFO by end date)."""
    lots, debits, expired = _lots(entries)
    use = debits + expired
    left = []
    for lot in lots:
        taken = min(lot.amount, use)
        use -= taken
        if lot.amount - taken > 0:
            left.append(Lot(lot.expires_at, lot.amount - taken))
    return left


async def expiring(
    session: AsyncSession, user_id: int, unit: Unit, *, now: datetime | None = None
) -> list[Lot]:
    """What expires when (by day), for the shopper's page."""
    now = now or utcnow()
    by_day: dict[datetime, int] = {}
    for lot in remaining_lots(await _available_entries(session, user_id, unit)):
        if lot.expires_at > now:
            day = lot.expires_at.replace(hour=0, minute=0, second=0, microsecond=0)
            by_day[day] = by_day.get(day, 0) + lot.amount
    return [Lot(day, amount) for day, amount in sorted(by_day.items())]


async def expire_user(
    session: AsyncSession, user_id: int, unit: Unit, rules: Rules, *, now: datetime | None = None
) -> int:
    """Expire what is due for one user's unit; returns the amount expired now. Does not commit."""
    now = now or utcnow()
    balance = await ledger.lock(session, user_id, unit)
    if balance.available <= 0:
        return 0
    entries = await _available_entries(session, user_id, unit)
    lots, debits, expired = _lots(entries)
    due_total = max(0, sum(lot.amount for lot in lots if lot.expires_at <= now) - debits)
    amount = min(due_total - expired, balance.available)
    note = "expired"
    key = f"expire:{user_id}:{due_total}"
    if (
        amount <= 0
        and unit is Unit.points
        and rules.inactivity_months
        and balance.last_activity_at is not None
    ):
        if add_months(balance.last_activity_at, rules.inactivity_months) <= now:
            amount = balance.available
            note = f"expired after {rules.inactivity_months} months without activity"
            key = f"inactive:{user_id}:{balance.last_activity_at.isoformat()}"
    if amount <= 0:
        return 0
    entry = await ledger.post(
        session, balance, kind=Kind.expired, amount=-amount, key=key, source="expiry", note=note, at=now
    )
    return amount if entry is not None else 0


async def expire_due(session: AsyncSession, rules: Rules, *, now: datetime | None = None) -> int:
    """Every balance with something left: expire what is due. Commits per user."""
    now = now or utcnow()
    rows = (await session.execute(select(Balance.user_id, Balance.unit).where(Balance.available > 0))).all()
    await session.commit()
    total = 0
    for user_id, unit in rows:
        total += await expire_user(session, user_id, Unit(unit), rules, now=now)
        await session.commit()
    return total
