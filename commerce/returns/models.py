from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from engage.platform.clock import utcnow
from engage.platform.db import Base, BigId, IdMixin


class ReturnStatus(StrEnum):
    requested = "requested"  # the shopper sends the items back
    refunded = "refunded"  # received by staff, refunded (restocked if staff said so)
    rejected = "rejected"


class ReturnRequest(IdMixin, Base):
    """A shopper's request to send back some units of some lines of a delivered order."""

    __tablename__ = "return_requests"

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    order_number: Mapped[str] = mapped_column(String(16))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{"line_id", "quantity"}]
    reason: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(16), default=ReturnStatus.requested.value, index=True)
    requested_by: Mapped[str] = mapped_column(String(80))
    handled_by: Mapped[str] = mapped_column(String(40), default="")
    note: Mapped[str] = mapped_column(String(300), default="")  # staff's, e.g. why it was rejected
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
