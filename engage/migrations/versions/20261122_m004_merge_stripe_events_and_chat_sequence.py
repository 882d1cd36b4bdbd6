"""merge stripe events and chat sequence

Revision ID: m004
Revises: c003, h002, m003
Create Date: 2026-11-22 06:28:42.122530
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engage.platform.db

revision: str = "m004"
down_revision: str | Sequence[str] | None = ("c003", "h002", "m003")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
