from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engage.platform.db import Base, BigId, IdMixin, TimestampMixin


class Category(IdMixin, Base):
    """A node of the category tree (e.g. "Audio & Headphones" > "Over-Ear Headphones")."""

    __tablename__ = "categories"

    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("categories.id", ondelete="RESTRICT"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)

    parent: Mapped[Category | None] = relationship(remote_side="Category.id", lazy="raise")


class Product(IdMixin, TimestampMixin, Base):
    """`handle` is the public id (the catalog file's `id`, e.g. "aud-001"); URLs, channels and search use it."""

    __tablename__ = "products"
    # The listing's sort orders, each with `id` as the keyset tie-breaker, over published products.
    __table_args__ = (
        Index("ix_products_status_price", "status", "min_price_cents", "id"),
        Index("ix_products_status_created", "status", "created_at", "id"),
        Index("ix_products_status_popularity", "status", "popularity", "id"),
    )

    handle: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    brand: Mapped[str] = mapped_column(String(120), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("categories.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="published")  # published | draft
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    images: Mapped[list[str]] = mapped_column(JSON, default=list)
    popularity: Mapped[int] = mapped_column(default=0)
    # The lowest variant price ("from $x"), kept by commerce.catalog.service for price filters and sorting.
    min_price_cents: Mapped[int] = mapped_column(default=0)

    category: Mapped[Category | None] = relationship(lazy="raise")
    variants: Mapped[list[Variant]] = relationship(
        back_populates="product", order_by="Variant.position", lazy="raise", cascade="all, delete-orphan"
    )


class Variant(IdMixin, TimestampMixin, Base):
    """A buyable version of a product; money in integer minor units of ENGAGE_CURRENCY.

    Its stock (and low-stock threshold) lives in commerce.inventory's `StockLevel`.
    """

    __tablename__ = "variants"
    __table_args__ = (Index("ix_variants_product_position", "product_id", "position"),)

    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    options: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    price_cents: Mapped[int]
    compare_at_cents: Mapped[int | None] = mapped_column(default=None)
    weight_grams: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)

    product: Mapped[Product] = relationship(back_populates="variants", lazy="raise")
