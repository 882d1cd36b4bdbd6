"""auth: the admin's security choices (which staff roles need two-factor sign-in)

Revision ID: u016
Revises: u015
Create Date: 2026-12-04 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engage.platform.db import UTCDateTime

revision: str = "u016"
down_revision: str | Sequence[str] | None = "u015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "security_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("two_factor_roles", sa.JSON(), nullable=True),
        sa.Column("updated_by", BigId, nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
            name=op.f("fk_security_settings_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_settings")),
    )


def downgrade() -> None:
    op.drop_table("security_settings")
