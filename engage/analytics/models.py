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


class FunnelMark(Base):
    """A visitor (owner key) reached a step of the funnel that nothing else keeps (`view`: opened a product
    page, `cart`: added to the cart) on a day of the shop's time zone: once per visitor, step and day."""

    __tablename__ = "funnel_marks"
    __table_args__ = (
        Index("ix_funnel_marks_step_at", "step", "at"),
        Index("ix_funnel_marks_visitor", "visitor"),  # a privacy request's
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    step: Mapped[str] = mapped_column(String(16), primary_key=True)
    visitor: Mapped[str] = mapped_column(String(80), primary_key=True)
    at: Mapped[datetime]  # the first time that day


class FunnelDay(Base):
    """Visitors of a day of the shop's time zone at each step: product views, added to cart, checkout
    started, paid (`zone`: as `SalesDay`)."""

    __tablename__ = "funnel_days"

    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    views: Mapped[int] = mapped_column(default=0)
    carts: Mapped[int] = mapped_column(default=0)
    checkouts: Mapped[int] = mapped_column(default=0)
    paid: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class BuyerDay(Base):
    """A day (of the shop's time zone `zone`) a buyer paid for an order, with the buyer's previous such day
    (`NO_DAY` when none is within a period's reach): what `BuyerGap` counts."""

    __tablename__ = "buyer_days"

    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    prev_day: Mapped[date] = mapped_column(Date)


class BuyerGap(Base):
    """How many buyers paid on `day` after last paying on `prev_day`. A period's distinct buyers are the sum
    over its days of the buyers whose previous day is before the period: each buyer once, on their first day
    in it (a few hundred rows a day to read, not every order)."""

    __tablename__ = "buyer_gaps"

    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    prev_day: Mapped[date] = mapped_column(Date, primary_key=True)
    buyers: Mapped[int] = mapped_column(default=0)
