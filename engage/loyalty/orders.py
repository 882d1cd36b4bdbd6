"""What an order means for loyalty: points earned on what was paid, points and store credit spent on it,
and what a refund or cancellation takes back or gives back.

`settle_order` is convergent: it re-reads the order, its adjustments and its succeeded refunds (never the
event's payload), computes what the ledger should hold for the order, and writes only the difference under
keys derived from the order and the target. The same event twice, or events in any order, end in the same
ledger. Called by the sink on `order.updated`, and by a periodic sweep that catches up anything missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.orders.models import Order, OrderAdjustment, OrderStatus
from commerce.payments.models import Refund
from engage.loyalty import ledger
from engage.loyalty.models import Bucket, Kind, LedgerEntry, Unit
from engage.loyalty.rules import ROLLING_YEAR, Rules, add_months
from engage.platform.clock import utcnow

POINTS_SOURCE = "loyalty.points"  # the adjustment sources this area registers in commerce's port
CREDIT_SOURCE = "store_credit"

_UNPAID = {OrderStatus.pending_payment.value}
_ENDED = {OrderStatus.refunded.value, OrderStatus.cancelled.value}


def order_source(order_id: int) -> str:
    return f"order:{order_id}"


@dataclass(frozen=True, slots=True)
class OrderFacts:
    order: Order
    points_spent: int  # the points line's points (0: none)
    points_cents: int
    credit_cents: int
    credit_back_cents: int  # what succeeded refunds gave back to store credit
    refunded: Fraction  # of what the order was worth (card and store credit), 0..1

    @property
    def paid(self) -> bool:
        return self.order.paid_at is not None

    @property
    def goods_paid_cents(self) -> int:
        """What earns points: the goods after offers and the points discount; no shipping, no tax."""
        return max(0, self.order.subtotal_cents - self.order.discount_cents - self.points_cents)


async def facts(session: AsyncSession, order_id: int) -> OrderFacts | None:
    order = await session.get(Order, order_id, populate_existing=True)
    if order is None or order.user_id is None:
        return None
    lines = {
        a.source: a
        for a in await session.scalars(select(OrderAdjustment).where(OrderAdjustment.order_id == order_id))
    }
    points = lines.get(POINTS_SOURCE)
    credit = lines.get(CREDIT_SOURCE)
    card_back, credit_back = 0, 0
    for cents, tenders in await session.execute(
        select(Refund.amount_cents, Refund.tenders).where(
            Refund.order_id == order_id, Refund.status == "succeeded"
        )
    ):
        card_back += cents
        credit_back += int((tenders or {}).get(CREDIT_SOURCE, 0))
    worth = order.total_cents + (credit.amount_cents if credit else 0)
    if order.status in _ENDED:
        refunded = Fraction(1)
    elif worth > 0:
        refunded = min(Fraction(1), Fraction(card_back + credit_back, worth))
    else:
        refunded = Fraction(0)
    return OrderFacts(
        order=order,
        points_spent=int((points.data or {}).get("points", 0)) if points else 0,
        points_cents=points.amount_cents if points else 0,
        credit_cents=credit.amount_cents if credit else 0,
        credit_back_cents=credit_back,
        refunded=refunded,
    )


async def converge_spend(
    session: AsyncSession, user_id: int, unit: Unit, source: str, target: int, *, actor: str
) -> None:
    """Make what `source` has spent of `unit` equal `target` (>= 0): spend the difference (checked against
    the locked balance) or give it back. Does not commit."""
    balance = await ledger.lock(session, user_id, unit)
    spend_kind = Kind.redeemed if unit is Unit.points else Kind.used
    back_kind = Kind.redeemed if unit is Unit.points else Kind.restored
    spent = -await ledger.net_of(session, user_id, unit, source, [spend_kind, back_kind])
    step = await ledger.count_of(session, user_id, unit, source)
    if target > spent:
        await ledger.spend(
            session,
            balance,
            target - spent,
            kind=spend_kind,
            key=f"{source}:spend:{step}",
            source=source,
            actor=actor,
        )
    elif target < spent:
        await ledger.post(
            session,
            balance,
            kind=back_kind,
            amount=spent - target,
            key=f"{source}:back:{step}",
            source=source,
            actor=actor,
            note="given back: the order was refunded or cancelled",
        )


async def tier_value(session: AsyncSession, user_id: int, rules: Rules, at: datetime) -> int:
    """Points earned, or spend (minor units), over the year before `at`: what places a shopper in a tier."""
    since = at - ROLLING_YEAR
    if rules.tier_basis == "points":
        return int(
            await session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                    LedgerEntry.user_id == user_id,
                    LedgerEntry.unit == Unit.points.value,
                    LedgerEntry.kind.in_([Kind.pending.value, Kind.earned.value, Kind.reversed.value]),
                    LedgerEntry.transfer.is_(False),
                    LedgerEntry.created_at > since,
                    LedgerEntry.created_at <= at,
                )
            )
            or 0
        )
    return int(
        await session.scalar(
            select(
                func.coalesce(func.sum(Order.subtotal_cents - Order.discount_cents - Order.refunded_cents), 0)
            ).where(
                Order.user_id == user_id,
                Order.paid_at.is_not(None),
                Order.paid_at > since,
                Order.paid_at <= at,
                Order.status.not_in(list(_ENDED)),
            )
        )
        or 0
    )


def rate_of(rules: Rules, tier_value_now: int) -> int:
    tier = rules.tier_for(tier_value_now)
    return tier.points_per_unit if tier is not None else rules.points_per_unit


async def settle_order(
    session: AsyncSession, order_id: int, rules: Rules, *, now: datetime | None = None
) -> OrderFacts | None:
    """Bring the ledger in line with the order as it is now. Does not commit; None when the order is not a
    signed-in shopper's."""
    now = now or utcnow()
    known = await facts(session, order_id)
    if known is None:
        return None
    order, user_id, source = known.order, known.order.user_id, order_source(order_id)
    assert user_id is not None
    unpaid_end = order.status == OrderStatus.cancelled.value and order.paid_at is None
    # 1. what the order spent: held while it waits for payment, given back as it is refunded or cancelled
    # (points in proportion; store credit as commerce's refunds gave it back, all of it once the order ended)
    keep = Fraction(0) if unpaid_end else 1 - known.refunded
    await converge_spend(
        session, user_id, Unit.points, source, _floor(known.points_spent * keep), actor="system"
    )
    credit_kept = 0 if keep == 0 else max(known.credit_cents - known.credit_back_cents, 0)
    await converge_spend(session, user_id, Unit.credit, source, credit_kept, actor="system")
    # 2. what it earned, and what a refund takes back
    if known.paid and rules.enabled:
        await _earn(session, known, rules, now)
    if known.paid:
        await _reverse(session, known, now)
    return known


def _floor(value: Fraction | int) -> int:
    return int(value) if isinstance(value, int) else value.numerator // value.denominator


async def _earn(session: AsyncSession, known: OrderFacts, rules: Rules, now: datetime) -> None:
    order, source = known.order, order_source(known.order.id)
    assert order.user_id is not None and order.paid_at is not None
    balance = await ledger.lock(session, order.user_id, Unit.points)
    available_at = order.paid_at + timedelta(days=rules.pending_days)
    if not await ledger.written(session, Unit.points, Kind.pending, f"{source}:accrue"):
        rate = rate_of(
            rules, await tier_value(session, order.user_id, rules, order.paid_at - timedelta(microseconds=1))
        )
        points = known.goods_paid_cents * rate // 100
        await ledger.post(
            session,
            balance,
            kind=Kind.pending,
            bucket=Bucket.pending,
            amount=points,
            key=f"{source}:accrue",
            source=source,
            note=f"order {order.number}",
            base_cents=known.goods_paid_cents,
            available_at=available_at,
            at=now,
        )
    if rules.bonus_first_order and known.refunded < 1:
        first = await session.scalar(
            select(Order.id)
            .where(Order.user_id == order.user_id, Order.paid_at.is_not(None))
            .order_by(Order.paid_at, Order.id)
            .limit(1)
        )
        if first == order.id:
            await ledger.post(
                session,
                balance,
                kind=Kind.pending,
                bucket=Bucket.pending,
                amount=rules.bonus_first_order,
                key=f"first-order:{order.user_id}",
                source=source,
                note="first order bonus",
                available_at=available_at,
                at=now,
            )


async def _reverse(session: AsyncSession, known: OrderFacts, now: datetime) -> None:
    """Take back the refunded share of what the order earned (all of it once refunded or cancelled)."""
    order, source = known.order, order_source(known.order.id)
    assert order.user_id is not None
    if known.refunded <= 0:
        return
    balance = await ledger.lock(session, order.user_id, Unit.points)
    earned = int(
        await session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.user_id == order.user_id,
                LedgerEntry.unit == Unit.points.value,
                LedgerEntry.source == source,
                LedgerEntry.kind == Kind.pending.value,
                LedgerEntry.transfer.is_(False),
            )
        )
        or 0
    )
    target = _floor(earned * known.refunded)
    done = -await ledger.net_of(session, order.user_id, Unit.points, source, [Kind.reversed])
    if target <= done:
        return
    released = await ledger.written(session, Unit.points, Kind.earned, f"release:{source}")
    await ledger.post(
        session,
        balance,
        kind=Kind.reversed,
        bucket=Bucket.available if released else Bucket.pending,
        amount=-(target - done),
        key=f"{source}:reverse:{target}",
        source=source,
        note=f"order {order.number} refunded"
        if known.refunded < 1
        else f"order {order.number} {order.status}",
        at=now,
    )


async def release_pending(
    session: AsyncSession, rules: Rules, *, now: datetime | None = None, limit: int = 500
) -> int:
    """Pending points whose period ended become spendable (what a refund left of them). Commits per
    shopper; returns how many sources were released."""
    now = now or utcnow()
    due = (
        await session.execute(
            select(LedgerEntry.user_id, LedgerEntry.source)
            .where(
                LedgerEntry.unit == Unit.points.value,
                LedgerEntry.bucket == Bucket.pending.value,
                LedgerEntry.transfer.is_(False),
                LedgerEntry.amount > 0,
                LedgerEntry.available_at <= now,
            )
            .group_by(LedgerEntry.user_id, LedgerEntry.source)
            .limit(limit * 4)
        )
    ).all()
    await session.commit()
    released = 0
    for user_id, source in due:
        balance = await ledger.lock(session, user_id, Unit.points)
        if await ledger.written(session, Unit.points, Kind.earned, f"release:{source}"):
            await session.rollback()
            continue
        left = int(
            await session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                    LedgerEntry.user_id == user_id,
                    LedgerEntry.unit == Unit.points.value,
                    LedgerEntry.source == source,
                    LedgerEntry.bucket == Bucket.pending.value,
                )
            )
            or 0
        )
        expires = add_months(now, rules.expiry_months) if rules.expiry_months else None
        key = f"release:{source}"
        if left > 0:
            await ledger.post(
                session,
                balance,
                kind=Kind.pending,
                bucket=Bucket.pending,
                amount=-left,
                key=key,
                source=source,
                transfer=True,
                note="now spendable",
                at=now,
            )
            await ledger.post(
                session,
                balance,
                kind=Kind.earned,
                amount=left,
                key=key,
                source=source,
                transfer=True,
                note="released",
                expires_at=expires,
                at=now,
            )
        else:  # all of it was reversed while pending: mark it released all the same
            session.add(
                LedgerEntry(
                    user_id=user_id,
                    unit=Unit.points.value,
                    kind=Kind.earned.value,
                    amount=0,
                    transfer=True,
                    key=key,
                    source=source,
                    actor="system",
                    note="nothing left to release",
                    created_at=now,
                )
            )
        await session.commit()
        released += 1
        if released >= limit:
            break
    return released


async def orders_to_sweep(session: AsyncSession, since: datetime, limit: int = 1000) -> list[int]:
    """Signed-in shoppers' orders changed since `since` that have been paid or carry adjustments."""
    adjusted = select(OrderAdjustment.order_id)
    rows = await session.scalars(
        select(Order.id)
        .where(
            Order.user_id.is_not(None),
            Order.updated_at >= since,
            (Order.paid_at.is_not(None)) | Order.id.in_(adjusted),
        )
        .order_by(Order.updated_at)
        .limit(limit)
    )
    return list(rows.all())
