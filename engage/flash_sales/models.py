"""Flash sales: a few variants at a sale price, a limited number of units, a window in time.

Counters on the item rows are the source of truth for units; the Redis gate in front of them (production)
only turns away claims that cannot succeed before they reach the database.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engage.platform.db import Base, BigId, IdMixin, TimestampMixin


class SaleStatus(StrEnum):
    draft = "draft"  # being prepared: not shown, not claimable
    scheduled = "scheduled"  # published: upcoming, live or ended, by the clock
    cancelled = "cancelled"


class ClaimStatus(StrEnum):
    held = "held"  # a unit reserved for the shopper, waiting for checkout
    paid = "paid"  # became part of a paid order
    released = "released"  # the hold ran out or checkout failed: the unit went back on sale


class FlashSale(IdMixin, TimestampMixin, Base):
    __tablename__ = "flash_sales"
    __table_args__ = (Index("ix_flash_sales_status_window", "status", "starts_at", "ends_at"),)

    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default=SaleStatus.draft.value)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    per_customer_limit: Mapped[int] = mapped_column(default=1)
    created_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    # which transitions have been announced on the channels (each exactly once, whichever node sees it)
    announced_start: Mapped[bool] = mapped_column(default=False)
    announced_end: Mapped[bool] = mapped_column(default=False)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)

    items: Mapped[list[FlashSaleItem]] = relationship(
        back_populates="sale", order_by="FlashSaleItem.id", lazy="raise", cascade="all, delete-orphan"
    )


class FlashSaleItem(IdMixin, Base):
    """One variant of a sale: its price and its units. `units_claimed` counts held and paid claims."""

    __tablename__ = "flash_sale_items"
    __table_args__ = (UniqueConstraint("sale_id", "variant_id"),)

    sale_id: Mapped[int] = mapped_column(BigId, ForeignKey("flash_sales.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(BigId, ForeignKey("variants.id", ondelete="RESTRICT"), index=True)
    sale_price_cents: Mapped[int]
    units_allotted: Mapped[int]
    units_claimed: Mapped[int] = mapped_column(default=0)
    units_paid: Mapped[int] = mapped_column(default=0)
    claims_total: Mapped[int] = mapped_column(default=0)  # every claim ever made, for conversion

    sale: Mapped[FlashSale] = relationship(back_populates="items", lazy="raise")


class FlashSaleBuyer(Base):
    """How many units of a sale a shopper holds or bought: the per-customer limit is checked here."""

    __tablename__ = "flash_sale_buyers"

    sale_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("flash_sales.id", ondelete="CASCADE"), primary_key=True
    )
    owner_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    claimed: Mapped[int] = mapped_column(default=0)


class FlashClaim(IdMixin, TimestampMixin, Base):
    __tablename__ = "flash_claims"
    __table_args__ = (
        Index("ix_flash_claims_sale_status", "sale_id", "status"),
        Index("ix_flash_claims_owner", "owner_key", "status"),
    )

    sale_id: Mapped[int] = mapped_column(BigId, ForeignKey("flash_sales.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(BigId, ForeignKey("flash_sale_items.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(BigId)
    owner_key: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    reservation_id: Mapped[int] = mapped_column(BigId, unique=True)
    unit_price_cents: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=ClaimStatus.held.value)
    hold_expires_at: Mapped[datetime]
