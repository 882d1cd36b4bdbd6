"""bot answers: the sold-out variant the bot offered to tell the shopper about

Revision ID: u010
Revises: u009
Create Date: 2026-12-04 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "u010"
down_revision: str | Sequence[str] | None = "u009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bot_answers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offered_variant_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bot_answers", schema=None) as batch_op:
        batch_op.drop_column("offered_variant_id")
