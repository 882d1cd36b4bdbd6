"""Stock per variant, the ledger of every movement, and reservations (holds on stock for a while)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from engage.platform.clock import utcnow
from engage.platform.db import Base, BigId, IdMixin


class StockLevel(Base):
    """On hand and reserved units of one variant. Available = on_hand - reserved.

    `reserved` is the sum of the variant's active reservations; both figures only change through
    commerce.inventory, together with a `StockMovement` row, so the ledger can recompute them.
    """

    __tablename__ = "stock_levels"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved_within_on_hand"),
    )

    variant_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("variants.id", ondelete="CASCADE"), primary_key=True
    )
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    # `stock.low` is emitted when availability falls to this figure or below.
    low_stock_threshold: Mapped[int] = mapped_column(default=5)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MovementKind(StrEnum):
    restock = "restock"
    sale = "sale"
    reservation = "reservation"
    release = "release"
    adjustment = "adjustment"
    refund_return = "refund-return"


class StockMovement(IdMixin, Base):
    """One line of the ledger: how on_hand and reserved moved, why, and on whose behalf."""

    __tablename__ = "stock_movements"
    __table_args__ = (Index("ix_stock_movements_variant", "variant_id", "id"),)

    variant_id: Mapped[int] = mapped_column(BigId, ForeignKey("variants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    on_hand_delta: Mapped[int] = mapped_column(default=0)
    reserved_delta: Mapped[int] = mapped_column(default=0)
    # what it belongs to: "reservation:12", "order:EN-7K3M9QX2", "import", "user:5"...
    reference: Mapped[str] = mapped_column(String(120), default="")
    note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReservationStatus(StrEnum):
    active = "active"
    consumed = "consumed"  # sold: became part of a paid order
    released = "released"  # given back before expiry (payment failed, checkout left, claim returned)
    expired = "expired"  # the hold ran out and the periodic job gave it back


class Reservation(IdMixin, Base):
    """Units of a variant held for an owner until `expires_at`.

    `source` says who asked (e.g. "checkout:abc", "flash:12"); when the hold ends without a sale, the event
    `reservation.released` carries it so that the source's owner can take the unit back.
    """

    __tablename__ = "reservations"
    __table_args__ = (
        Index("ix_reservations_status_expires", "status", "expires_at"),
        Index("ix_reservations_owner", "owner_key", "status"),
        Index("ix_reservations_source", "source"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    variant_id: Mapped[int] = mapped_column(BigId, ForeignKey("variants.id", ondelete="CASCADE"))
    quantity: Mapped[int]
    owner_key: Mapped[str] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16), default=ReservationStatus.active.value)
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
