"""merge api tokens, push, search synonyms and loyalty

Revision ID: m007
Revises: a001, l001, p001, s004
Create Date: 2026-12-03 11:40:00
"""

from collections.abc import Sequence

revision: str = "m007"
down_revision: str | Sequence[str] | None = ("a001", "l001", "p001", "s004")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
