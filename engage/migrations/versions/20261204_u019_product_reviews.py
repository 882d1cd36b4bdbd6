"""reviews: shoppers' ratings and words about products they bought

Revision ID: u019
Revises: u018
Create Date: 2026-12-04 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engage.platform.db import UTCDateTime

revision: str = "u019"
down_revision: str | Sequence[str] | None = "u018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "product_reviews",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("product_id", BigId, sa.ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", BigId, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("order_id", BigId, sa.ForeignKey("orders.id", ondelete="SET NULL"), nullable=True),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("moderation_note", sa.String(length=300), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_reviews")),
        sa.UniqueConstraint("product_id", "user_id", name=op.f("uq_product_reviews_product_id_user_id")),
    )
    op.create_index("ix_product_reviews_product_status", "product_reviews", ["product_id", "status", "id"])
    op.create_index("ix_product_reviews_user_id", "product_reviews", ["user_id"])
    op.create_index("ix_product_reviews_status", "product_reviews", ["status"])
    op.create_index("ix_product_reviews_updated_at", "product_reviews", ["updated_at"])


def downgrade() -> None:
    op.drop_table("product_reviews")
