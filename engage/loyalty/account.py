"""What a shopper sees of their rewards (balance, pending, tier, what expires when, history), the birthday
bonus, and an admin's adjustment with its reason."""

from __future__ import annotations

from datetime import date, datetime

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.loyalty import expiry, ledger
from engage.loyalty.models import Balance, Kind, LedgerEntry, Member, Unit
from engage.loyalty.orders import tier_value
from engage.loyalty.rules import Rules, add_months
from engage.platform.clock import utcnow
from engage.platform.errors import InvalidInput, NotFound


class Expiring(msgspec.Struct):
    on: date
    amount: int


class TierView(msgspec.Struct):
    name: str
    points_per_unit: int
    basis: str  # points | spend
    value: int  # over the rolling year
    next_name: str | None
    next_threshold: int | None


class PointsSummary(msgspec.Struct):
    balance: int  # spendable (negative after a reversal: nothing can be redeemed until it is positive)
    pending: int
    value_cents: int  # what the balance is worth at checkout
    tier: TierView | None
    expiring: list[Expiring]
    redeem_points_per_unit: int
    redeem_minimum: int
    can_redeem: bool
    birthday: str | None  # "MM-DD"


class CreditSummary(msgspec.Struct):
    balance_cents: int
    expiring: list[Expiring]


class EntryView(msgspec.Struct):
    id: int
    kind: str
    amount: int
    bucket: str
    source: str
    note: str
    actor: str
    created_at: datetime
    available_at: datetime | None
    expires_at: datetime | None


def entry_view(entry: LedgerEntry) -> EntryView:
    return EntryView(
        id=entry.id,
        kind=entry.kind,
        amount=entry.amount,
        bucket=entry.bucket,
        source=entry.source,
        note=entry.note,
        actor=entry.actor,
        created_at=entry.created_at,
        available_at=entry.available_at,
        expires_at=entry.expires_at,
    )


async def points_summary(session: AsyncSession, user_id: int, rules: Rules) -> PointsSummary:
    sums = await ledger.sums(session, user_id, Unit.points)
    value = await tier_value(session, user_id, rules, utcnow())
    tier, following = rules.tier_for(value), rules.next_tier(value)
    member = await session.get(Member, user_id)
    birthday = (
        f"{member.birthday_month:02d}-{member.birthday_day:02d}"
        if member is not None and member.birthday_month and member.birthday_day
        else None
    )
    return PointsSummary(
        balance=sums.available,
        pending=sums.pending,
        value_cents=max(0, rules.redeem_value_cents(sums.available)),
        tier=TierView(
            name=tier.name,
            points_per_unit=tier.points_per_unit,
            basis=rules.tier_basis,
            value=value,
            next_name=following.name if following else None,
            next_threshold=following.threshold if following else None,
        )
        if tier is not None
        else None,
        expiring=[
            Expiring(lot.expires_at.date(), lot.amount)
            for lot in await expiry.expiring(session, user_id, Unit.points)
        ],
        redeem_points_per_unit=rules.redeem_points_per_unit,
        redeem_minimum=rules.redeem_minimum,
        can_redeem=rules.enabled and sums.available >= max(rules.redeem_minimum, 1),
        birthday=birthday,
    )


async def credit_summary(session: AsyncSession, user_id: int) -> CreditSummary:
    sums = await ledger.sums(session, user_id, Unit.credit)
    return CreditSummary(
        balance_cents=sums.available,
        expiring=[
            Expiring(lot.expires_at.date(), lot.amount)
            for lot in await expiry.expiring(session, user_id, Unit.credit)
        ],
    )


async def history(
    session: AsyncSession, user_id: int, unit: Unit, *, before_id: int | None, limit: int
) -> list[EntryView]:
    return [
        entry_view(e)
        for e in await ledger.entries_of(session, user_id, unit, before_id=before_id, limit=limit)
    ]


async def set_birthday(session: AsyncSession, user_id: int, month: int, day: int) -> None:
    """Commits. The birthday can be set once (it earns a bonus every year)."""
    try:
        date(2000, month, day)
    except ValueError:
        raise InvalidInput("not a date", field="birthday") from None
    member = await session.get(Member, user_id, with_for_update=True)
    if member is None:
        member = Member(user_id=user_id)
        session.add(member)
    elif member.birthday_month and (member.birthday_month, member.birthday_day) != (month, day):
        raise InvalidInput("your birthday is already set; ask support to change it", field="birthday")
    member.birthday_month, member.birthday_day = month, day
    await session.commit()


async def birthday_bonuses(session: AsyncSession, rules: Rules, *, today: date | None = None) -> int:
    """Everyone whose birthday is today gets the bonus, once a year. Commits."""
    today = today or utcnow().date()
    if not rules.enabled or not rules.bonus_birthday:
        return 0
    users = (
        await session.scalars(
            select(Member.user_id).where(
                Member.birthday_month == today.month, Member.birthday_day == today.day
            )
        )
    ).all()
    await session.commit()
    given = 0
    now = utcnow()
    for user_id in users:
        balance = await ledger.lock(session, user_id, Unit.points)
        entry = await ledger.post(
            session,
            balance,
            kind=Kind.earned,
            amount=rules.bonus_birthday,
            key=f"birthday:{user_id}:{today.year}",
            source="action:birthday",
            note="birthday bonus",
            expires_at=add_months(now, rules.expiry_months) if rules.expiry_months else None,
        )
        await session.commit()
        given += entry is not None
    return given


async def adjust(
    session: AsyncSession,
    user_id: int,
    unit: Unit,
    amount: int,
    *,
    reason: str,
    actor: str,
    key: str,
    rules: Rules,
) -> EntryView:
    """An admin's adjustment (positive or negative), with a reason; `key` makes a retried request write once.
    A negative one never takes the balance below zero (only reversals may). Commits."""
    reason = reason.strip()
    if not 3 <= len(reason) <= 300 or not reason.isprintable():
        raise InvalidInput("give a reason (3 to 300 characters)", field="reason")
    if amount == 0 or abs(amount) > 100_000_000:
        raise InvalidInput("adjust by a non-zero amount", field="amount")
    if await session.get(Balance, (user_id, unit.value)) is None:
        from engage.auth import User

        if await session.get(User, user_id) is None:
            raise NotFound("no such shopper")
    balance = await ledger.lock(session, user_id, unit)
    full_key = f"adjust:{actor}:{key}"
    if (
        amount < 0
        and balance.available + amount < 0
        and not await ledger.written(session, unit, Kind.adjusted, full_key)
    ):
        raise InvalidInput(
            f"the balance is {balance.available}: an adjustment cannot take it below zero", field="amount"
        )
    now = utcnow()
    months = rules.expiry_months if unit is Unit.points else rules.credit_expiry_months
    entry = await ledger.post(
        session,
        balance,
        kind=Kind.adjusted,
        amount=amount,
        key=full_key,
        source="admin",
        actor=actor,
        note=reason,
        expires_at=add_months(now, months) if amount > 0 and months else None,
    )
    if entry is None:
        entry = await session.scalar(
            select(LedgerEntry).where(
                LedgerEntry.unit == unit.value,
                LedgerEntry.kind == Kind.adjusted.value,
                LedgerEntry.key == full_key,
            )
        )
    await session.commit()
    assert entry is not None
    return entry_view(entry)
