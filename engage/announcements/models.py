from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from engage.platform.db import Base, BigId, IdMixin


class Announcement(IdMixin, Base):
    """A notice shown on every storefront tab until it expires."""

    __tablename__ = "announcements"
    __table_args__ = (Index("ix_announcements_expires_at", "expires_at"),)

    text: Mapped[str] = mapped_column(String(280))
    level: Mapped[str] = mapped_column(String(16), default="info")
    author_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
