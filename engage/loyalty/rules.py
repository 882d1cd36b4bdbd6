"""The loyalty programme's rules, set by an admin (one row, versioned by its update time).

Money is in minor units; rates are whole points per whole currency unit (100 minor units).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from engage.loyalty.models import LoyaltySettings
from engage.platform.errors import InvalidInput

Count = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
Cents = Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]
Days = Annotated[int, msgspec.Meta(ge=0, le=3650)]
Months = Annotated[int, msgspec.Meta(ge=0, le=120)]


class Tier(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    # reached with this many points earned, or this much spend (minor units), over the rolling year
    threshold: Count
    points_per_unit: Annotated[int, msgspec.Meta(ge=0, le=1000)]  # this tier's earning rate


class Milestone(msgspec.Struct, forbid_unknown_fields=True):
    referrals: Annotated[int, msgspec.Meta(ge=1, le=10_000)]
    credit_cents: Cents = 0
    points: Count = 0


class Rules(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = True
    # earning: points per currency unit paid for goods (after offers and points, without shipping and tax)
    points_per_unit: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 1
    pending_days: Days = 14  # earned points are spendable after this, if the order was not refunded
    expiry_months: Months = 12  # each earned entry expires this long after it became spendable (0: never)
    inactivity_months: Months = 0  # everything expires after this long without earning or spending (0: off)
    tier_basis: Literal["points", "spend"] = "spend"
    tiers: list[Tier] = msgspec.field(
        default_factory=lambda: [
            Tier(name="Member", threshold=0, points_per_unit=1),
            Tier(name="Silver", threshold=50_000, points_per_unit=2),
            Tier(name="Gold", threshold=200_000, points_per_unit=3),
        ]
    )
    # redemption: this many points take one currency unit off; at least `redeem_minimum` at a time
    redeem_points_per_unit: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 100
    redeem_minimum: Count = 500
    # bonus actions (points)
    bonus_signup: Count = 100
    bonus_first_order: Count = 200
    bonus_birthday: Count = 100
    bonus_review: Count = 50  # a published review of a product the shopper bought, once per product
    # referrals: both sides' reward, store credit (default) or points
    referral_reward: Literal["credit", "points"] = "credit"
    referral_referrer_cents: Cents = 1000
    referral_referee_cents: Cents = 1000
    referral_referrer_points: Count = 1000
    referral_referee_points: Count = 1000
    referral_pending_days: Days = 14  # the friend's first order must stay unrefunded this long
    referral_milestones: list[Milestone] = msgspec.field(
        default_factory=lambda: [
            Milestone(referrals=5, credit_cents=2000),
            Milestone(referrals=10, credit_cents=5000),
            Milestone(referrals=25, credit_cents=15000),
        ]
    )
    credit_expiry_months: Months = 0  # store credit grants expire (0: never)
    # fraud checks: more referees than this from one IP, or of one email pattern, within the window: held
    fraud_ip_limit: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 3
    fraud_email_pattern_limit: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 3
    fraud_window_hours: Annotated[int, msgspec.Meta(ge=1, le=24 * 365)] = 24

    def validate(self) -> Rules:
        names = [t.name for t in self.tiers]
        if not all(name.strip() and name.isprintable() for name in names):
            raise InvalidInput("tier names are printable text", field="tiers")
        if len(set(names)) != len(names):
            raise InvalidInput("tier names must differ", field="tiers")
        thresholds = [t.threshold for t in self.tiers]
        if len(set(thresholds)) != len(thresholds):
            raise InvalidInput("tier thresholds must differ", field="tiers")
        if self.tiers and min(thresholds) != 0:
            raise InvalidInput("the first tier starts at 0", field="tiers")
        counts = [m.referrals for m in self.referral_milestones]
        if len(set(counts)) != len(counts):
            raise InvalidInput("milestones must differ", field="referral_milestones")
        return self

    def tier_for(self, value: int) -> Tier | None:
        reached = [t for t in self.tiers if t.threshold <= value]
        return max(reached, key=lambda t: t.threshold) if reached else None

    def next_tier(self, value: int) -> Tier | None:
        above = [t for t in self.tiers if t.threshold > value]
        return min(above, key=lambda t: t.threshold) if above else None

    def redeem_value_cents(self, points: int) -> int:
        return points * 100 // self.redeem_points_per_unit

    def points_for_cents(self, cents: int) -> int:
        """The most points whose value is at most `cents`."""
        return cents * self.redeem_points_per_unit // 100


def add_months(moment: datetime, months: int) -> datetime:
    """`months` later, same day (clamped to the month's end); whole-day arithmetic keeps it exact."""
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    day = moment.day
    while True:
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1


ROLLING_YEAR = timedelta(days=365)


async def load(session: AsyncSession) -> Rules:
    row = await session.get(LoyaltySettings, 1)
    if row is None or not row.rules:
        return Rules()
    return msgspec.convert(row.rules, Rules)


async def save(session: AsyncSession, rules: Rules, *, actor: str) -> Rules:
    """Replace the rules (validated). Commits."""
    rules.validate()
    row = await session.get(LoyaltySettings, 1, with_for_update=True)
    if row is None:
        row = LoyaltySettings(id=1)
        session.add(row)
    row.rules = msgspec.to_builtins(rules)
    row.updated_by = actor[:80]
    await session.commit()
    return rules
