from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engage.platform.clock import utcnow
from engage.platform.db import Base, BigId, IdMixin


class AlertState(StrEnum):
    waiting = "waiting"  # for the next restock
    sending = "sending"  # taken by a wave (`wave` says which); its message is being written
    notified = "notified"
    cancelled = "cancelled"  # removed by the shopper


class StockAlert(IdMixin, Base):
    """ "Tell me when it is back": one per variant and person (account, guest or email)."""

    __tablename__ = "stock_alerts"
    __table_args__ = (
        UniqueConstraint("variant_id", "owner_key", name="uq_stock_alerts_variant_owner"),
        Index("ix_stock_alerts_variant_state_created", "variant_id", "state", "created_at"),
    )

    variant_id: Mapped[int] = mapped_column(BigId, ForeignKey("variants.id", ondelete="CASCADE"))
    # "user:{id}", "guest:{id}": whose devices a push goes to
    owner_key: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    email: Mapped[str] = mapped_column(String(254), default="")  # where a mail goes when no device takes it
    state: Mapped[str] = mapped_column(String(16), default=AlertState.waiting.value)
    wave: Mapped[str] = mapped_column(String(40), default="")
    taken_at: Mapped[datetime | None] = mapped_column(default=None)  # when a wave took it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    notified_at: Mapped[datetime | None] = mapped_column(default=None)
    channel: Mapped[str] = mapped_column(String(8), default="")  # "push" or "email", once notified
    clicked_at: Mapped[datetime | None] = mapped_column(default=None)  # the email's link, first opened
