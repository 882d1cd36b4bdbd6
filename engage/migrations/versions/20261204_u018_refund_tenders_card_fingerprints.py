"""payments: what a refund gives back to tenders (store credit), and the card behind a payment

Revision ID: u018
Revises: u017
Create Date: 2026-12-04 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "u018"
down_revision: str | Sequence[str] | None = "u017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("refunds") as batch:
        batch.add_column(sa.Column("tenders", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("payments") as batch:
        batch.add_column(
            sa.Column("card_fingerprint", sa.String(length=64), nullable=False, server_default="")
        )
    op.create_index("ix_payments_card_fingerprint", "payments", ["card_fingerprint"])


def downgrade() -> None:
    op.drop_index("ix_payments_card_fingerprint", table_name="payments")
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("card_fingerprint")
    with op.batch_alter_table("refunds") as batch:
        batch.drop_column("tenders")
