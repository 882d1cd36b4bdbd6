"""Leaderboards: the definitions marketers make, and the names shoppers choose to be shown by.

Standings are not stored here: they are computed from the ledger and the orders, kept ranked in Redis
sorted sets (production) or in memory (embedded), and rebuilt from the database whenever those are lost.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from engage.platform.db import Base, BigId, IdMixin, TimestampMixin


class Metric(StrEnum):
    points_earned = "points_earned"
    referrals_completed = "referrals_completed"
    flash_sale_purchases = "flash_sale_purchases"  # units bought in one flash sale
    category_spend = "category_spend"  # minor units paid for products of a category (and its subtree)


class Period(StrEnum):
    all_time = "all_time"
    month = "month"  # the current calendar month (UTC)
    week = "week"  # the current ISO week (UTC)
    range = "range"  # starts_at .. ends_at
    flash_sale = "flash_sale"  # the sale's own window


class Leaderboard(IdMixin, TimestampMixin, Base):
    __tablename__ = "leaderboards"

    name: Mapped[str] = mapped_column(String(120))
    metric: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime | None] = mapped_column(default=None)
    ends_at: Mapped[datetime | None] = mapped_column(default=None)
    flash_sale_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("flash_sales.id", ondelete="SET NULL"), default=None
    )
    category_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("categories.id", ondelete="SET NULL"), default=None
    )
    show_names: Mapped[bool] = mapped_column(default=True)
    size: Mapped[int] = mapped_column(default=10)  # the top N shown
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))


class Profile(Base):
    """How a shopper appears on leaderboards: a display name, or anonymous (the default)."""

    __tablename__ = "leaderboard_profiles"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(40), default="")
    anonymous: Mapped[bool] = mapped_column(default=True)
