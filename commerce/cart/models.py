"""A shopper's cart: one per owner key ("user:5" or "guest:abc"), one line per variant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engage.platform.clock import utcnow
from engage.platform.db import Base, BigId, IdMixin, TimestampMixin


class Cart(IdMixin, TimestampMixin, Base):
    __tablename__ = "carts"

    owner_key: Mapped[str] = mapped_column(String(80), unique=True)

    lines: Mapped[list[CartLine]] = relationship(
        back_populates="cart", order_by="CartLine.id", lazy="raise", cascade="all, delete-orphan"
    )


class CartLine(IdMixin, Base):
    __tablename__ = "cart_lines"
    __table_args__ = (
        UniqueConstraint("cart_id", "variant_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    cart_id: Mapped[int] = mapped_column(BigId, ForeignKey("carts.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(BigId, ForeignKey("variants.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int]
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    cart: Mapped[Cart] = relationship(back_populates="lines", lazy="raise")
