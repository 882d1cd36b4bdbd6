from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engage.platform.clock import utcnow
from engage.platform.db import Base, BigId, IdMixin


class ReviewStatus(StrEnum):
    published = "published"
    hidden = "hidden"  # by staff, with a reason: not shown, earns nothing
    deleted = "deleted"  # by its author: the words are gone, the row stays so what follows it can see it


class Review(IdMixin, Base):
    """A shopper's rating and words about a product they bought: one per shopper and product, theirs to
    change or delete."""

    __tablename__ = "product_reviews"
    __table_args__ = (
        UniqueConstraint("product_id", "user_id"),
        Index("ix_product_reviews_product_status", "product_id", "status", "id"),
    )

    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("orders.id", ondelete="SET NULL"))
    rating: Mapped[int] = mapped_column(SmallInteger)
    title: Mapped[str] = mapped_column(String(120), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(12), default=ReviewStatus.published.value, index=True)
    moderation_note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
