"""back-in-stock alerts

Revision ID: u005
Revises: u004
Create Date: 2026-12-03 18:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engage.platform.db

revision: str = "u005"
down_revision: str | Sequence[str] | None = "u004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "stock_alerts",
        sa.Column("variant_id", BigId, nullable=False),
        sa.Column("owner_key", sa.String(length=80), nullable=False),
        sa.Column("user_id", BigId, nullable=True),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("wave", sa.String(length=40), nullable=False),
        sa.Column("taken_at", engage.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", engage.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("notified_at", engage.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_stock_alerts_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["variants.id"],
            name=op.f("fk_stock_alerts_variant_id_variants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_alerts")),
        sa.UniqueConstraint("variant_id", "owner_key", name="uq_stock_alerts_variant_owner"),
    )
    with op.batch_alter_table("stock_alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stock_alerts_variant_state_created", ["variant_id", "state", "created_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("stock_alerts")
