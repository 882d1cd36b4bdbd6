"""Loyalty: points, store credit and referrals on one append-only ledger (engage.loyalty.models).

For other areas and the assembly:

- `PointsRedemption`, `StoreCreditTender`: the adjustments loyalty registers in commerce's checkout port
  (`Services.adjustments`, in the wiring).
- `settle(session, order_id)`: bring the ledger in line with an order as it is now (earn, reverse, give back
  spent points and credit, start or hold a referral); convergent, so duplicated and reordered
  `order.updated` events end in the same ledger. `release_due`, `expire_due`, `birthday_bonuses`: the clock.
- `settle_review(session, user_id, product_id)`: the review bonus given or taken back as the shopper's review
  of the product is now (convergent, like `settle`); `reviews_to_sweep` for the periodic catch-up.
- `welcome(session, NewAccount)`: a new account's sign-up bonus and the referral it came through.
- `check_ledger(session)`: every cached balance recomputed from the entries (mismatches, normally none).
- `standing(session, user_id)`: a member's points and store credit (the back office's customer page).
- `points_earned(...)`/`referrals_completed(...)` for leaderboards: see engage.loyalty.standings.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from engage.auth import NewAccount
from engage.loyalty import expiry, orders, referrals, reviews
from engage.loyalty import rules as _rules
from engage.loyalty.account import CreditSummary, PointsSummary, credit_summary, points_summary
from engage.loyalty.ledger import Mismatch, check_ledger
from engage.loyalty.redemption import PointsRedemption, StoreCreditTender
from engage.loyalty.reviews import reviews_to_sweep
from engage.loyalty.rules import Rules
from engage.platform.clock import utcnow


async def settle(session: AsyncSession, order_id: int, *, now: datetime | None = None) -> bool:
    """Commits. False when the order is not a signed-in shopper's."""
    rules = await _rules.load(session)
    known = await orders.settle_order(session, order_id, rules, now=now)
    if known is None:
        await session.rollback()
        return False
    await referrals.on_order(session, known, rules)
    await session.commit()
    return True


async def settle_review(
    session: AsyncSession, user_id: int, product_id: int, *, now: datetime | None = None
) -> None:
    """Commits."""
    await reviews.settle_review(session, user_id, product_id, await _rules.load(session), now=now)
    await session.commit()


async def welcome(session: AsyncSession, account: NewAccount, *, now: datetime | None = None) -> None:
    await referrals.on_signup(session, account, await _rules.load(session), now=now)


async def release_due(session: AsyncSession, *, now: datetime | None = None) -> tuple[int, int]:
    """Pending points whose period ended, and referrals whose friend's order stood: (points, referrals)."""
    now = now or utcnow()
    rules = await _rules.load(session)
    await session.commit()
    return (
        await orders.release_pending(session, rules, now=now),
        await referrals.release_due(session, rules, now=now),
    )


async def expire_due(session: AsyncSession, *, now: datetime | None = None) -> int:
    rules = await _rules.load(session)
    await session.commit()
    return await expiry.expire_due(session, rules, now=now)


class Standing(msgspec.Struct):
    points: PointsSummary
    credit: CreditSummary


async def standing(session: AsyncSession, user_id: int) -> Standing:
    rules = await _rules.load(session)
    return Standing(await points_summary(session, user_id, rules), await credit_summary(session, user_id))


__all__ = [
    "CreditSummary",
    "Mismatch",
    "NewAccount",
    "PointsRedemption",
    "PointsSummary",
    "Rules",
    "Standing",
    "StoreCreditTender",
    "check_ledger",
    "expire_due",
    "release_due",
    "reviews_to_sweep",
    "settle",
    "settle_review",
    "standing",
    "welcome",
]
