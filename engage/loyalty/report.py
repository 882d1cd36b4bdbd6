"""The liability report: per month, what was earned, redeemed, reversed, expired and adjusted, and what is
outstanding at the month's end (points, and their value at the redemption rate; store credit in money)."""

from __future__ import annotations

from collections import defaultdict

import msgspec
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.loyalty.models import Kind, LedgerEntry, Unit
from engage.loyalty.rules import Rules
from engage.platform.db import dialect_of


class MonthLine(msgspec.Struct):
    month: str  # YYYY-MM
    earned: int  # accrued on orders and bonuses (pending included), granted credit
    redeemed: int  # spent at checkout, net of what refunds gave back
    reversed: int
    expired: int
    adjusted: int
    outstanding: int  # at the month's end: spendable + pending
    outstanding_value_cents: int


class Liability(msgspec.Struct):
    unit: str
    months: list[MonthLine]
    outstanding: int
    outstanding_value_cents: int
    pending: int


_EARNING = {Kind.pending.value, Kind.earned.value, Kind.granted.value}
_SPENDING = {Kind.redeemed.value, Kind.used.value, Kind.restored.value}


def _month(session: AsyncSession) -> ColumnElement[str]:
    if dialect_of(session) == "postgresql":
        return func.to_char(LedgerEntry.created_at, "YYYY-MM")
    return func.strftime("%Y-%m", LedgerEntry.created_at)


async def liability(session: AsyncSession, unit: Unit, rules: Rules) -> Liability:
    month = _month(session).label("month")
    rows = await session.execute(
        select(month, LedgerEntry.kind, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.unit == unit.value, LedgerEntry.transfer.is_(False))
        .group_by(month, LedgerEntry.kind)
        .order_by(month)
    )
    by_month: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for m, kind, total in rows:
        by_month[str(m)][kind] += int(total or 0)
    pending = int(
        await session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.unit == unit.value, LedgerEntry.bucket == "pending"
            )
        )
        or 0
    )

    def value(amount: int) -> int:
        return rules.redeem_value_cents(amount) if unit is Unit.points else amount

    lines, running = [], 0
    for m in sorted(by_month):
        kinds = by_month[m]
        running += sum(kinds.values())
        lines.append(
            MonthLine(
                month=m,
                earned=sum(v for k, v in kinds.items() if k in _EARNING),
                redeemed=-sum(v for k, v in kinds.items() if k in _SPENDING),
                reversed=-kinds.get(Kind.reversed.value, 0),
                expired=-kinds.get(Kind.expired.value, 0),
                adjusted=kinds.get(Kind.adjusted.value, 0),
                outstanding=running,
                outstanding_value_cents=value(running),
            )
        )
    return Liability(
        unit=unit.value,
        months=lines,
        outstanding=running,
        outstanding_value_cents=value(running),
        pending=pending,
    )
