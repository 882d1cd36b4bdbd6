"""Figures kept as orders change, so that a period reads a row per day, not every order: sales and products
per day of the shop's time zone, and each buyer's first payment."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from engage.platform.clock import utcnow
from engage.platform.db import Base


class SalesDay(Base):
    """Orders paid on a day of the shop's time zone (`zone`: rows of another zone are left behind when the
    setting changes, and rebuilt for the new one)."""

    __tablename__ = "sales_days"

    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    orders: Mapped[int] = mapped_column(default=0)  # paid that day (and not cancelled unpaid)
    revenue_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # paid minus refunded
    refunds_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProductDay(Base):
    """Units and revenue of a product on a day of the shop's time zone (`zone`: rows of another zone are
    left behind when the setting changes, and rebuilt for the new one)."""

    __tablename__ = "product_days"

    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    product_handle: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    units: Mapped[int] = mapped_column(default=0)  # sold minus returned
    revenue_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # of the units kept


class Buyer(Base):
    """When each buyer (by email) first paid: new against returning buyers of a period."""

    __tablename__ = "buyers"
    __table_args__ = (Index("ix_buyers_first_paid_at", "first_paid_at"),)

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    first_paid_at: Mapped[datetime]
