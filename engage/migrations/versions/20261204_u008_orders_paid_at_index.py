"""orders: an index on paid_at that also carries what sales figures read (an index-only scan on PostgreSQL)

Revision ID: u008
Revises: u007
Create Date: 2026-12-04 00:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "u008"
down_revision: str | Sequence[str] | None = "u007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_orders_paid_at",
        "orders",
        ["paid_at"],
        postgresql_include=["status", "email", "total_cents", "refunded_cents"],
    )


def downgrade() -> None:
    op.drop_index("ix_orders_paid_at", table_name="orders")
