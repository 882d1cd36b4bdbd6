"""merchants' own search synonyms

Revision ID: s004
Revises: m006
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engage.platform.db

revision: str = "s004"
down_revision: str | Sequence[str] | None = "m006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "search_synonyms",
        sa.Column("terms", sa.String(length=500), nullable=False),
        sa.Column("targets", sa.String(length=500), nullable=False),
        sa.Column("created_by", big_id, nullable=True),
        sa.Column("created_at", engage.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_synonyms")),
    )
    with op.batch_alter_table("search_synonyms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_search_synonyms_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("search_synonyms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_search_synonyms_created_at"))
    op.drop_table("search_synonyms")
