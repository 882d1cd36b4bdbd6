"""analytics: products per day of the shop's time zone, and each buyer's first payment

Revision ID: u011
Revises: u010
Create Date: 2026-12-04 00:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engage.platform.db import UTCDateTime

revision: str = "u011"
down_revision: str | Sequence[str] | None = "u010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "product_days",
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("product_handle", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("zone", "day", "product_handle", name=op.f("pk_product_days")),
    )
    op.create_table(
        "buyers",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("first_paid_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_buyers")),
    )
    op.create_index("ix_buyers_first_paid_at", "buyers", ["first_paid_at"])


def downgrade() -> None:
    op.drop_index("ix_buyers_first_paid_at", table_name="buyers")
    op.drop_table("buyers")
    op.drop_table("product_days")
