"""Loyalty's events: a shopper's balances changed (their private channel), a referral moved on."""

from __future__ import annotations

from typing import ClassVar

from engage.platform.events import Event


class BalanceChanged(Event):
    """On `user:{id}`: the account page shows the new figures live; leaderboards of points follow it."""

    type: ClassVar[str] = "loyalty.balance"
    user_id: int
    unit: str  # points | credit
    available: int
    pending: int


class ReferralChanged(Event):
    """A referral's new status (no channel: leaderboards of referrals and the staff review follow it)."""

    type: ClassVar[str] = "referral.changed"
    referral_id: int
    referrer_id: int
    referee_id: int
    status: str
