"""merge commerce checkout

Revision ID: m003
Revises: c002, m002
Create Date: 2026-11-22 05:56:12.786254
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engage.platform.db

revision: str = "m003"
down_revision: str | Sequence[str] | None = ("c002", "m002")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
