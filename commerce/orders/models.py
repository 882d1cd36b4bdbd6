"""Orders, their lines (a copy of what was bought, at the price paid) and their timeline."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engage.platform.clock import utcnow
from engage.platform.db import Base, BigId, IdMixin, TimestampMixin


class OrderStatus(StrEnum):
    pending_payment = "pending_payment"
    paid = "paid"
    fulfilled = "fulfilled"
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"
    refunded = "refunded"
    partially_refunded = "partially_refunded"


class Order(IdMixin, TimestampMixin, Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_user_created", "user_id", "created_at"),
        Index("ix_orders_owner_created", "owner_key", "created_at"),
        Index("ix_orders_status_created", "status", "created_at"),
        # a period's figures read these from the index alone (PostgreSQL)
        Index(
            "ix_orders_paid_at",
            "paid_at",
            postgresql_include=["status", "email", "total_cents", "refunded_cents"],
        ),
        Index("ix_orders_updated_at", "updated_at"),
    )

    number: Mapped[str] = mapped_column(String(16), unique=True)
    # One order per checkout, whatever races happen at payment time.
    checkout_id: Mapped[str] = mapped_column(String(32), unique=True)
    owner_key: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    email: Mapped[str] = mapped_column(String(254), index=True)
    status: Mapped[str] = mapped_column(String(24), default=OrderStatus.pending_payment.value)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_cents: Mapped[int]
    discount_cents: Mapped[int] = mapped_column(default=0)
    shipping_cents: Mapped[int]
    tax_cents: Mapped[int]
    total_cents: Mapped[int]
    refunded_cents: Mapped[int] = mapped_column(default=0)
    shipping_address: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    shipping_method: Mapped[str] = mapped_column(String(40), default="")
    carrier: Mapped[str] = mapped_column(String(40), default="")
    tracking_number: Mapped[str] = mapped_column(String(64), default="")
    expected_delivery: Mapped[date | None] = mapped_column(Date, default=None)
    paid_at: Mapped[datetime | None] = mapped_column(default=None)
    shipped_at: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.id", lazy="raise", cascade="all, delete-orphan"
    )


class OrderLine(IdMixin, Base):
    __tablename__ = "order_lines"

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("variants.id", ondelete="SET NULL"))
    product_handle: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    options: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    quantity: Mapped[int]
    unit_price_cents: Mapped[int]
    line_total_cents: Mapped[int]
    discount_label: Mapped[str] = mapped_column(String(120), default="")
    returned_quantity: Mapped[int] = mapped_column(default=0)

    order: Mapped[Order] = relationship(back_populates="lines", lazy="raise")


class OrderAdjustment(IdMixin, Base):
    """A part of the order's value paid otherwise than by card (commerce.checkout.adjustments): loyalty
    points as a discount, store credit as a tender. `Order.total_cents` is what is left after them."""

    __tablename__ = "order_adjustments"
    __table_args__ = (UniqueConstraint("order_id", "source"),)

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(40))  # "loyalty.points", "store_credit"
    kind: Mapped[str] = mapped_column(String(16))  # discount | tender
    label: Mapped[str] = mapped_column(String(120))
    amount_cents: Mapped[int]
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OrderEvent(IdMixin, Base):
    """One entry of an order's timeline: a status change, a payment, a refund, a note; who and when."""

    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_order", "order_id", "id"),)

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))  # status | payment | refund | note
    from_status: Mapped[str | None] = mapped_column(String(24), default=None)
    to_status: Mapped[str | None] = mapped_column(String(24), default=None)
    actor: Mapped[str] = mapped_column(String(80))  # "user:5", "system", "stripe"
    note: Mapped[str] = mapped_column(String(500), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
