"""A checkout: the cart frozen into priced lines with stock held, an address, a shipping method, totals."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from engage.platform.clock import utcnow
from engage.platform.db import Base, BigId, TimestampMixin


class CheckoutStatus(StrEnum):
    open = "open"  # holds stock; can be paid
    completed = "completed"  # paid: became an order
    expired = "expired"  # the hold ran out before payment; stock went back
    replaced = "replaced"  # the shopper started a new checkout


class Checkout(TimestampMixin, Base):
    __tablename__ = "checkouts"
    __table_args__ = (
        Index("ix_checkouts_owner_status", "owner_key", "status"),
        Index("ix_checkouts_status_expires", "status", "expires_at"),
        Index("ix_checkouts_created_at", "created_at"),  # checkouts started per day (the funnel)
    )

    # Public and unguessable (it is in URLs); the owner check still applies to every use.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_key: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=CheckoutStatus.open.value)
    email: Mapped[str] = mapped_column(String(254), default="")
    address: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    shipping_method: Mapped[str] = mapped_column(String(40), default="")
    currency: Mapped[str] = mapped_column(String(3))
    # The priced lines as last computed (see commerce.checkout.totals.PricedLine).
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Reservations holding this checkout's stock: its own ("checkout:{id}") and adopted ones (flash claims).
    hold_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    subtotal_cents: Mapped[int] = mapped_column(default=0)
    discount_cents: Mapped[int] = mapped_column(default=0)
    shipping_cents: Mapped[int] = mapped_column(default=0)
    tax_cents: Mapped[int] = mapped_column(default=0)
    total_cents: Mapped[int] = mapped_column(default=0)  # what the card is charged: after the adjustments
    # Lines the checkout adjustments took off the total (commerce.checkout.adjustments.AdjustmentLine).
    adjustments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    expires_at: Mapped[datetime]


class SavedAddress(TimestampMixin, Base):
    """An address in a signed-in shopper's address book (filled from their orders, edited in the account)."""

    __tablename__ = "saved_addresses"
    __table_args__ = (
        UniqueConstraint("user_id", "fingerprint", name="uq_saved_addresses_user_fingerprint"),
        # one default per shopper, whatever races
        Index(
            "uq_saved_addresses_default",
            "user_id",
            unique=True,
            postgresql_where=text("is_default"),
            sqlite_where=text("is_default"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    # the address's fields, normalised and hashed: the same address is kept once per shopper
    fingerprint: Mapped[str] = mapped_column(String(64))
    address: Mapped[dict[str, Any]] = mapped_column(JSON)
    label: Mapped[str] = mapped_column(String(40), default="")
    is_default: Mapped[bool] = mapped_column(default=False)
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow)
