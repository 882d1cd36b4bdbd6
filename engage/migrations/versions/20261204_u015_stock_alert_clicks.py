"""alerts: when a back-in-stock email's link was first opened; search: the time each search took

Revision ID: u015
Revises: u014
Create Date: 2026-12-04 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engage.platform.db import UTCDateTime

revision: str = "u015"
down_revision: str | Sequence[str] | None = "u014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stock_alerts") as batch:
        batch.add_column(sa.Column("clicked_at", UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("search_queries") as batch:
        batch.add_column(sa.Column("took_ms", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("search_queries") as batch:
        batch.drop_column("took_ms")
    with op.batch_alter_table("stock_alerts") as batch:
        batch.drop_column("clicked_at")
