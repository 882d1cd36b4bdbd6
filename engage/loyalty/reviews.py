"""The review bonus: a published review of a product the shopper bought earns `bonus_review` points, once per
shopper and product; hiding it (staff) or deleting it (the shopper) takes them back, and that product never
earns the bonus again. Convergent: re-reads the review, so duplicated or reordered `review.changed` events end
in the same ledger."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.reviews import Review, ReviewStatus
from engage.loyalty import ledger
from engage.loyalty.models import Kind, LedgerEntry, Unit
from engage.loyalty.rules import Rules, add_months
from engage.platform.clock import utcnow


def bonus_key(user_id: int, product_id: int) -> str:
    return f"review:{user_id}:{product_id}"


async def settle_review(
    session: AsyncSession, user_id: int, product_id: int, rules: Rules, *, now: datetime | None = None
) -> None:
    """Give or take back the bonus of the shopper's review of the product as it is now. Does not commit."""
    now = now or utcnow()
    review = await session.scalar(
        select(Review).where(Review.user_id == user_id, Review.product_id == product_id)
    )
    stands = (
        review is not None and review.status == ReviewStatus.published.value and review.order_id is not None
    )
    key = bonus_key(user_id, product_id)
    balance = await ledger.lock(session, user_id, Unit.points)
    given = await session.scalar(
        select(LedgerEntry.amount).where(
            LedgerEntry.unit == Unit.points.value,
            LedgerEntry.kind == Kind.earned.value,
            LedgerEntry.key == key,
        )
    )
    source = f"action:review:{product_id}"
    if given is None and stands and rules.enabled and rules.bonus_review:
        await ledger.post(
            session,
            balance,
            kind=Kind.earned,
            amount=rules.bonus_review,
            key=key,
            source=source,
            note="review bonus",
            expires_at=add_months(now, rules.expiry_months) if rules.expiry_months else None,
            at=now,
        )
    elif given and not stands:
        await ledger.post(
            session,
            balance,
            kind=Kind.reversed,
            amount=-given,
            key=f"{key}:back",
            source=source,
            note=f"review {review.status if review is not None else 'removed'}",
            at=now,
        )


async def reviews_to_sweep(
    session: AsyncSession, since: datetime, limit: int = 1000
) -> list[tuple[int, int]]:
    """(user, product) of reviews changed since `since`, deleted ones included (their row stays)."""
    rows = await session.execute(
        select(Review.user_id, Review.product_id)
        .where(Review.updated_at >= since)
        .order_by(Review.updated_at)
        .limit(limit)
    )
    return [(user_id, product_id) for user_id, product_id in rows]
