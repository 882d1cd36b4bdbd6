"""merge search backlog

Revision ID: m005
Revises: m004, s003
Create Date: 2026-11-22 07:01:50.175760
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engage.platform.db

revision: str = "m005"
down_revision: str | Sequence[str] | None = ("m004", "s003")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
