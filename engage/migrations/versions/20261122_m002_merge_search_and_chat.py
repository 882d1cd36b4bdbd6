"""merge search and chat

Revision ID: m002
Revises: h001, m001, s002
Create Date: 2026-11-22 05:36:16.209679
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engage.platform.db

revision: str = "m002"
down_revision: str | Sequence[str] | None = ("h001", "m001", "s002")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
