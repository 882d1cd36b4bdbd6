"""chat: the shopper's own gap-free sequence (public_seq), so private notes leave no trace in it

Revision ID: h002
Revises: h001
Create Date: 2026-11-22 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "h002"
down_revision: str | Sequence[str] | None = "h001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat_conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_public_seq", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_seq", sa.Integer(), nullable=True))
    # number what is already stored: public items in sequence order
    op.execute(
        "UPDATE chat_messages SET public_seq = (SELECT count(*) FROM chat_messages AS earlier"
        " WHERE earlier.conversation_id = chat_messages.conversation_id AND NOT earlier.private"
        " AND earlier.seq <= chat_messages.seq) WHERE NOT private"
    )
    op.execute(
        "UPDATE chat_conversations SET last_public_seq = (SELECT coalesce(max(public_seq), 0)"
        " FROM chat_messages WHERE chat_messages.conversation_id = chat_conversations.id)"
    )
    with op.batch_alter_table("chat_conversations", schema=None) as batch_op:
        batch_op.alter_column("last_public_seq", server_default=None)
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_chat_messages_conversation_id_public_seq"), ["conversation_id", "public_seq"]
        )


def downgrade() -> None:
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_chat_messages_conversation_id_public_seq"), type_="unique")
        batch_op.drop_column("public_seq")
    with op.batch_alter_table("chat_conversations", schema=None) as batch_op:
        batch_op.drop_column("last_public_seq")
