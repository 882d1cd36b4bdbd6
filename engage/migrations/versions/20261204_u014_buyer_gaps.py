"""analytics: each buyer's paid days and the gaps between them (distinct buyers of a period without reading
its orders)

Revision ID: u014
Revises: u013
Create Date: 2026-12-04 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "u014"
down_revision: str | Sequence[str] | None = "u013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "buyer_days",
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("prev_day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("zone", "email", "day", name=op.f("pk_buyer_days")),
    )
    op.create_table(
        "buyer_gaps",
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("prev_day", sa.Date(), nullable=False),
        sa.Column("buyers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("zone", "day", "prev_day", name=op.f("pk_buyer_gaps")),
    )


def downgrade() -> None:
    op.drop_table("buyer_gaps")
    op.drop_table("buyer_days")
