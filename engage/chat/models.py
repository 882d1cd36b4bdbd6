"""Chat tables. The database is the truth of every conversation: live delivery is only the fast path."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from engage.platform.clock import utcnow
from engage.platform.db import Base, BigId, IdMixin, TimestampMixin


class Status(StrEnum):
    open = "open"
    pending = "pending"  # parked: with the bot, or waiting on the shopper
    snoozed = "snoozed"  # until `snoozed_until`, or the shopper's next message
    resolved = "resolved"


class Owner(StrEnum):
    bot = "bot"
    queue = "queue"  # waiting for a human, unassigned
    agent = "agent"  # `assignee_id` has it


class Kind(StrEnum):
    message = "message"  # said by the shopper, an agent or the bot
    note = "note"  # staff only, never reaches the shopper
    event = "event"  # a system line ("Sam joined"); `private` ones are staff only


class Author(StrEnum):
    shopper = "shopper"
    agent = "agent"
    bot = "bot"
    system = "system"


class Availability(StrEnum):
    online = "online"
    busy = "busy"
    offline = "offline"


# Conversations that hold an agent's attention (count towards capacity).
ACTIVE_STATUSES = (Status.open.value, Status.pending.value)


class Team(IdMixin, Base):
    """An inbox with its own agents. With no teams configured every agent sees every conversation."""

    __tablename__ = "chat_teams"

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    # New conversations that name no team land here (one default at most; none: the shared inbox).
    is_default: Mapped[bool] = mapped_column(default=False)


class TeamMember(Base):
    __tablename__ = "chat_team_members"

    team_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("chat_teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AgentState(Base):
    """An agent's availability and place in the round robin. Rows are created on first use."""

    __tablename__ = "chat_agents"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    availability: Mapped[str] = mapped_column(String(16), default=Availability.offline.value)
    capacity: Mapped[int | None] = mapped_column(default=None)  # None: ENGAGE_CHAT_AGENT_CAPACITY
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    last_assigned_at: Mapped[datetime | None] = mapped_column(default=None)


class Conversation(IdMixin, TimestampMixin, Base):
    __tablename__ = "chat_conversations"
    __table_args__ = (
        Index("ix_chat_conversations_owner_key_status", "owner_key", "status"),
        Index("ix_chat_conversations_queue", "owner", "status", "waiting_since"),
        Index("ix_chat_conversations_assignee_status", "assignee_id", "status"),
        Index("ix_chat_conversations_last_activity_at", "last_activity_at"),
        # At most one unresolved conversation per shopper, even when two tabs start one at once.
        Index(
            "uq_chat_conversations_one_unresolved",
            "owner_key",
            unique=True,
            postgresql_where=text("status <> 'resolved'"),
            sqlite_where=text("status <> 'resolved'"),
        ),
        CheckConstraint("last_seq >= 0", name="last_seq_not_negative"),
    )

    # "user:{id}" or "guest:{guest_id}": whose conversation it is (see engage.auth.identity.owner_key)
    owner_key: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    contact_name: Mapped[str] = mapped_column(String(120), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    # left by the shopper when nobody was online: replies no open widget received are mailed there
    reply_email: Mapped[str] = mapped_column(String(254), default="")

    status: Mapped[str] = mapped_column(String(16), default=Status.open.value)
    snoozed_until: Mapped[datetime | None] = mapped_column(default=None)
    owner: Mapped[str] = mapped_column(String(16), default=Owner.queue.value)
    assignee_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    assignee_name: Mapped[str] = mapped_column(String(120), default="")
    team_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("chat_teams.id", ondelete="SET NULL"), index=True
    )
    handoff_reason: Mapped[str] = mapped_column(String(300), default="")

    # The per-conversation sequences, taken under the row's write lock: every stored item takes
    # last_seq + 1 (what staff see); items the shopper may see also take last_public_seq + 1, so the
    # shopper's stream has no holes where private notes are and reveals nothing about them.
    last_seq: Mapped[int] = mapped_column(default=0)
    last_public_seq: Mapped[int] = mapped_column(default=0)
    # Since when the shopper waits for a human's answer (queue order and the first-response SLA).
    waiting_since: Mapped[datetime | None] = mapped_column(default=None)
    first_response_at: Mapped[datetime | None] = mapped_column(default=None)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_preview: Mapped[str] = mapped_column(String(160), default="")
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)

    # Receipts: the highest public sequence each side has received / read.
    shopper_delivered_seq: Mapped[int] = mapped_column(default=0)
    shopper_read_seq: Mapped[int] = mapped_column(default=0)
    agent_delivered_seq: Mapped[int] = mapped_column(default=0)
    agent_read_seq: Mapped[int] = mapped_column(default=0)


class Message(IdMixin, Base):
    __tablename__ = "chat_messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("conversation_id", "public_seq"),
        # A re-sent message (same client id from the same sender) is stored once.
        UniqueConstraint("conversation_id", "author_key", "client_id"),
    )

    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("chat_conversations.id", ondelete="CASCADE")
    )
    seq: Mapped[int]
    public_seq: Mapped[int | None] = mapped_column(default=None)  # None: private (staff only)
    kind: Mapped[str] = mapped_column(String(16), default=Kind.message.value)
    private: Mapped[bool] = mapped_column(default=False)
    author: Mapped[str] = mapped_column(String(16))
    # "user:{id}", "guest:{id}", "bot" or "system": who sent it (scope of `client_id`)
    author_key: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(120), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    client_id: Mapped[str] = mapped_column(String(64))
    attachment_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("chat_attachments.id", ondelete="SET NULL")
    )
    # Structured extras (the bot's article links and suggested replies); small, validated on write.
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attachment(IdMixin, Base):
    __tablename__ = "chat_attachments"

    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("chat_conversations.id", ondelete="CASCADE"), index=True
    )
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    uploaded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationLabel(Base):
    __tablename__ = "chat_conversation_labels"

    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("chat_conversations.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class CannedResponse(IdMixin, TimestampMixin, Base):
    """A saved reply an agent inserts by typing `/shortcut` in the composer."""

    __tablename__ = "chat_canned_responses"

    shortcut: Mapped[str] = mapped_column(String(40), unique=True)
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))


class Rating(Base):
    """The shopper's satisfaction rating of a resolved conversation (CSAT), one per conversation."""

    __tablename__ = "chat_ratings"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="score_1_to_5"),)

    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("chat_conversations.id", ondelete="CASCADE"), primary_key=True
    )
    score: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    agent_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
