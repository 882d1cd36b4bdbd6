"""analytics: sales kept per day of the shop's time zone; orders: an index on updated_at (what changed lately)

Revision ID: u009
Revises: u008
Create Date: 2026-12-04 00:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engage.platform.db import UTCDateTime

revision: str = "u009"
down_revision: str | Sequence[str] | None = "u008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sales_days",
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=False),
        sa.Column("refunds_cents", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("zone", "day", name=op.f("pk_sales_days")),
    )
    op.create_index("ix_orders_updated_at", "orders", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_orders_updated_at", table_name="orders")
    op.drop_table("sales_days")
