"""payments: provider customers to delete after their owner's account was erased

Revision ID: u017
Revises: u016
Create Date: 2026-12-04 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engage.platform.db import UTCDateTime

revision: str = "u017"
down_revision: str | Sequence[str] | None = "u016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "payment_customer_deletions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("requested_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_customer_deletions")),
        sa.UniqueConstraint("provider", "customer_id", name="uq_payment_customer_deletions"),
    )
    op.create_index("ix_payment_customer_deletions_done_at", "payment_customer_deletions", ["done_at"])


def downgrade() -> None:
    op.drop_index("ix_payment_customer_deletions_done_at", table_name="payment_customer_deletions")
    op.drop_table("payment_customer_deletions")
