"""refund permission: admins may grant agents refunds, with a per-refund limit

Revision ID: u001
Revises: m007
Create Date: 2026-12-03 17:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "u001"
down_revision: str | Sequence[str] | None = "m007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("can_refund", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("refund_limit_cents", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("refund_limit_cents")
        batch_op.drop_column("can_refund")
