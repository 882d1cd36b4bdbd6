"""merge flash sales

Revision ID: m006
Revises: m005, r002
Create Date: 2026-11-22 07:40:16.693655
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engage.platform.db

revision: str = "m006"
down_revision: str | Sequence[str] | None = ("m005", "r002")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
