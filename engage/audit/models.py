from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from engage.platform.clock import utcnow
from engage.platform.db import Base, BigId, IdMixin


class AuditEntry(IdMixin, Base):
    """One thing a member of staff changed (or a staff sign-in, or its failure). Append-only: nothing in the
    product updates or deletes these rows."""

    __tablename__ = "audit_entries"

    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(BigId, default=None, index=True)
    actor_email: Mapped[str] = mapped_column(String(254), default="")
    actor_role: Mapped[str] = mapped_column(String(16), default="")
    address: Mapped[str] = mapped_column(String(64), default="")  # the client's IP
    # what: "POST /api/staff/orders/{number:str}/refund", or "sign_in" / "sign_in_failed"
    action: Mapped[str] = mapped_column(String(200), index=True)
    target: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the path's parameters
    status: Mapped[int] = mapped_column(default=0)
    # the request as sent (secrets redacted, at most a few kB): the "after" of the change
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
