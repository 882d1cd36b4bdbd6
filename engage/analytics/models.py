"""Sales kept per quarter hour (UTC), so that a period's figures read a few thousand rows, not every order.
Every time zone's day starts on a quarter hour, so any shop's days are sums of these."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from engage.platform.clock import utcnow
from engage.platform.db import Base


class SalesQuarter(Base):
    __tablename__ = "sales_quarters"

    starts_at: Mapped[datetime] = mapped_column(primary_key=True)  # UTC, on :00, :15, :30 or :45
    orders: Mapped[int] = mapped_column(default=0)  # paid in the quarter (and not cancelled unpaid)
    revenue_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # paid minus refunded
    refunds_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
