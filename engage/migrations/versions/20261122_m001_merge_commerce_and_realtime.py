"""merge commerce and realtime

Revision ID: m001
Revises: c001, r001
Create Date: 2026-11-22 05:22:29.953532
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engage.platform.db

revision: str = "m001"
down_revision: str | Sequence[str] | None = ("c001", "r001")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
