"""chat: the email a shopper left for replies when nobody was online

Revision ID: u007
Revises: u006
Create Date: 2026-12-03 18:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "u007"
down_revision: str | Sequence[str] | None = "u006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat_conversations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reply_email", sa.String(length=254), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("chat_conversations", schema=None) as batch_op:
        batch_op.drop_column("reply_email")
