"""Payment attempts, refunds, processed webhook events, idempotent requests, saved provider customers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engage.platform.clock import utcnow
from engage.platform.db import Base, BigId, IdMixin, TimestampMixin


class PaymentStatus(StrEnum):
    creating = "creating"  # recorded before the provider is called (the recovery point)
    requires_action = "requires_action"  # 3-D Secure: the shopper must authenticate
    processing = "processing"
    succeeded = "succeeded"
    failed = "failed"
    canceled = "canceled"


FINAL_PAYMENT_STATUSES = frozenset({PaymentStatus.succeeded, PaymentStatus.failed, PaymentStatus.canceled})


class Payment(IdMixin, TimestampMixin, Base):
    """One attempt to pay an order. A new attempt (after a decline) gets a new idempotency key."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("order_id", "attempt"),)

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int]
    provider: Mapped[str] = mapped_column(String(16))
    # Sent to the provider with every call of this attempt, so a retried call never charges twice.
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    intent_id: Mapped[str | None] = mapped_column(String(100), unique=True, default=None)
    status: Mapped[str] = mapped_column(String(20), default=PaymentStatus.creating.value)
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    client_secret: Mapped[str | None] = mapped_column(String(200), default=None)
    error: Mapped[str] = mapped_column(String(300), default="")
    # the provider's fingerprint of the card that paid (the same card, whoever holds it); "" when none
    card_fingerprint: Mapped[str] = mapped_column(String(64), default="", index=True)


class Refund(IdMixin, Base):
    __tablename__ = "refunds"

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    payment_id: Mapped[int] = mapped_column(BigId, ForeignKey("payments.id", ondelete="CASCADE"))
    amount_cents: Mapped[int]  # back to the card, through the provider
    # back to the tenders that paid part of the order (store credit), by adjustment source, in minor units
    tenders: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    provider_refund_id: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | succeeded | failed
    reason: Mapped[str] = mapped_column(String(300), default="")
    restock: Mapped[bool] = mapped_column(default=False)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{"line_id", "quantity"}]
    actor: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEvent(Base):
    """A provider event processed once: inserted in the same transaction as its effect."""

    __tablename__ = "webhook_events"

    provider: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(80))
    # the payment it was about (Stripe: the PaymentIntent id), for audits
    object_id: Mapped[str | None] = mapped_column(String(100), index=True, default=None)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerDeletion(IdMixin, Base):
    """A provider customer to delete (its owner's account was erased): done by a job, retried until the
    provider confirms."""

    __tablename__ = "payment_customer_deletions"
    __table_args__ = (UniqueConstraint("provider", "customer_id", name="uq_payment_customer_deletions"),)

    provider: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(300), default="")


class PaymentCustomer(TimestampMixin, Base):
    """A signed-in shopper's customer at the provider (saved cards live there, never here)."""

    __tablename__ = "payment_customers"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(100))
