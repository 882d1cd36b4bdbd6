"""Loyalty's tables: one append-only ledger for points and store credit, balances derived from it, the
rules, the shopper's checkout choices, and referrals with their audit trail.

The ledger is the truth. `loyalty_balances` caches each (user, unit)'s sums, updated in the same transaction
as the entries under the row's lock; `engage.loyalty.check_ledger` recomputes them from the entries.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engage.platform.clock import utcnow
from engage.platform.db import Base, BigId, IdMixin, TimestampMixin


class Unit(StrEnum):
    points = "points"
    credit = "credit"  # store credit, in minor units of the shop's currency


class Kind(StrEnum):
    # points
    pending = "pending"  # earned on a paid order, spendable after the pending period
    earned = "earned"  # spendable: released from pending, or a bonus
    redeemed = "redeemed"  # spent at checkout (negative), or given back when its order was refunded
    reversed = "reversed"  # what a refunded or cancelled order had earned, taken back
    expired = "expired"
    adjusted = "adjusted"  # by an admin, with a reason
    # store credit
    granted = "granted"  # a referral reward, a milestone, an admin's grant
    used = "used"  # spent at checkout
    restored = "restored"  # given back: its order was refunded or cancelled


class Bucket(StrEnum):
    available = "available"
    pending = "pending"


class LedgerEntry(IdMixin, Base):
    """One movement, never changed or deleted. `(unit, kind, key)` is unique: the key names the source
    event (`order:12:accrue`, `signup:5`, `referral:3:referrer`), so the same event twice writes once."""

    __tablename__ = "loyalty_entries"
    __table_args__ = (
        UniqueConstraint("unit", "kind", "key"),
        Index("ix_loyalty_entries_user", "user_id", "unit", "id"),
        Index("ix_loyalty_entries_source", "source"),
        Index("ix_loyalty_entries_created", "unit", "created_at"),
        Index("ix_loyalty_entries_pending", "bucket", "available_at"),
    )

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    unit: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))
    bucket: Mapped[str] = mapped_column(String(10), default=Bucket.available.value)
    amount: Mapped[int]  # signed: points, or minor units of store credit
    # one half of a move between buckets (pending -> available): not earning, not spending
    transfer: Mapped[bool] = mapped_column(default=False)
    key: Mapped[str] = mapped_column(String(160))
    source: Mapped[str] = mapped_column(String(80))  # "order:12", "action:signup", "referral:3", "admin"
    actor: Mapped[str] = mapped_column(String(80))  # "system", "user:5"
    note: Mapped[str] = mapped_column(String(300), default="")
    base_cents: Mapped[int] = mapped_column(default=0)  # what the points were computed from
    available_at: Mapped[datetime | None] = mapped_column(default=None)  # pending until
    expires_at: Mapped[datetime | None] = mapped_column(default=None)  # a positive lot's end
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Balance(Base):
    """The sums of a user's entries of one unit, kept in step under this row's lock."""

    __tablename__ = "loyalty_balances"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    unit: Mapped[str] = mapped_column(String(8), primary_key=True)
    available: Mapped[int] = mapped_column(default=0)
    pending: Mapped[int] = mapped_column(default=0)
    last_activity_at: Mapped[datetime | None] = mapped_column(default=None)  # earning or spending
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LoyaltySettings(Base):
    """The admin's rules (engage.loyalty.rules.Rules), one row."""

    __tablename__ = "loyalty_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_by: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Member(Base):
    """What a shopper tells loyalty about themselves (the birthday bonus)."""

    __tablename__ = "loyalty_members"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    birthday_month: Mapped[int | None] = mapped_column(default=None)
    birthday_day: Mapped[int | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CheckoutChoice(Base):
    """What the shopper asked to use on a checkout; the server quotes what it can honour."""

    __tablename__ = "loyalty_checkout_choices"

    checkout_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    points: Mapped[int] = mapped_column(default=0)
    use_credit: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReferralStatus(StrEnum):
    signed_up = "signed_up"  # the friend has an account; waiting for their first paid order
    qualifying = "qualifying"  # first order paid; rewards after the pending period unless it is refunded
    held = "held"  # a fraud check fired: an admin decides
    rewarded = "rewarded"
    rejected = "rejected"


class ReferralCode(Base):
    __tablename__ = "referral_codes"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReferralDevice(Base):
    """Browser (guest) ids seen on a referrer's account: a friend signing up from one is the same person."""

    __tablename__ = "referral_devices"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    device: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Referral(IdMixin, TimestampMixin, Base):
    __tablename__ = "referrals"
    __table_args__ = (
        Index("ix_referrals_referrer", "referrer_id", "status"),
        Index("ix_referrals_ip", "signup_ip", "created_at"),
        Index("ix_referrals_status_due", "status", "qualifies_at"),
    )

    code: Mapped[str] = mapped_column(String(16))
    referrer_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    referee_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=ReferralStatus.signed_up.value)
    referee_email: Mapped[str] = mapped_column(String(254))
    email_pattern: Mapped[str] = mapped_column(String(254), default="", index=True)
    signup_ip: Mapped[str] = mapped_column(String(64), default="")
    signup_device: Mapped[str] = mapped_column(String(64), default="")
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)  # fraud checks that fired
    cleared: Mapped[bool] = mapped_column(default=False)  # an admin approved despite the flags
    order_id: Mapped[int | None] = mapped_column(BigId, default=None)  # the referee's first paid order
    qualifies_at: Mapped[datetime | None] = mapped_column(default=None)
    rewarded_at: Mapped[datetime | None] = mapped_column(default=None)


class ReferralReview(IdMixin, Base):
    """The audit trail of a referral: holds, approvals, rejections, rewards; who, why, when."""

    __tablename__ = "referral_reviews"

    referral_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(16))  # held | approved | rejected | rewarded
    actor: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
