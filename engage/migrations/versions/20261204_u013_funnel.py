"""analytics: the funnel's marks (product views, added to cart) and its kept days

Revision ID: u013
Revises: u012
Create Date: 2026-12-04 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engage.platform.db import UTCDateTime

revision: str = "u013"
down_revision: str | Sequence[str] | None = "u012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "funnel_marks",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("visitor", sa.String(length=80), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", "step", "visitor", name=op.f("pk_funnel_marks")),
    )
    op.create_index("ix_funnel_marks_step_at", "funnel_marks", ["step", "at"])
    op.create_index("ix_funnel_marks_visitor", "funnel_marks", ["visitor"])
    op.create_table(
        "funnel_days",
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("carts", sa.Integer(), nullable=False),
        sa.Column("checkouts", sa.Integer(), nullable=False),
        sa.Column("paid", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("zone", "day", name=op.f("pk_funnel_days")),
    )
    op.create_index("ix_checkouts_created_at", "checkouts", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_checkouts_created_at", table_name="checkouts")
    op.drop_table("funnel_days")
    op.drop_index("ix_funnel_marks_visitor", table_name="funnel_marks")
    op.drop_index("ix_funnel_marks_step_at", table_name="funnel_marks")
    op.drop_table("funnel_marks")
