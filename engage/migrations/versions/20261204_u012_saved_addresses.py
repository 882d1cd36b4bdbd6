"""checkout: a signed-in shopper's address book

Revision ID: u012
Revises: u011
Create Date: 2026-12-04 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engage.platform.db import UTCDateTime

revision: str = "u012"
down_revision: str | Sequence[str] | None = "u011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "saved_addresses",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("address", sa.JSON(), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_saved_addresses_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_addresses")),
        sa.UniqueConstraint("user_id", "fingerprint", name="uq_saved_addresses_user_fingerprint"),
    )
    op.create_index(
        "uq_saved_addresses_default",
        "saved_addresses",
        ["user_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
        sqlite_where=sa.text("is_default"),
    )


def downgrade() -> None:
    op.drop_table("saved_addresses")
