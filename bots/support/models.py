"""The support bot's tables: help articles, their passages (with embeddings), and the bot's answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engage.platform.clock import utcnow
from engage.platform.db import Base, BigId, IdMixin, TimestampMixin


class HelpArticle(IdMixin, TimestampMixin, Base):
    """A help-centre article; `slug` is its public id (the file's front-matter `id`, e.g. "refunds")."""

    __tablename__ = "help_articles"

    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(120), default="")
    body: Mapped[str] = mapped_column(Text)

    passages: Mapped[list[HelpPassage]] = relationship(
        back_populates="article", order_by="HelpPassage.position", lazy="raise", cascade="all, delete-orphan"
    )


class HelpPassage(IdMixin, Base):
    """A paragraph-sized piece of an article, embedded with the article's title for retrieval."""

    __tablename__ = "help_passages"
    __table_args__ = (Index("ix_help_passages_article_position", "article_id", "position", unique=True),)

    article_id: Mapped[int] = mapped_column(BigId, ForeignKey("help_articles.id", ondelete="CASCADE"))
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(120))
    content_hash: Mapped[str] = mapped_column(String(64))
    vector: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # None: waiting to be embedded

    article: Mapped[HelpArticle] = relationship(back_populates="passages", lazy="raise")


class BotAnswer(IdMixin, Base):
    """One bot reply in a chat conversation: what it decided, the passages it used, and whether the shopper
    asked for a human after it (the containment rate and the weak articles come from these rows)."""

    __tablename__ = "bot_answers"
    __table_args__ = (Index("ix_bot_answers_conversation_created", "conversation_id", "created_at"),)

    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("chat_conversations.id", ondelete="CASCADE")
    )
    # the shopper's message answered, and the bot's reply (None when nothing was posted)
    shopper_message_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("chat_messages.id", ondelete="SET NULL"), default=None, unique=True
    )
    message_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("chat_messages.id", ondelete="SET NULL"), default=None
    )
    kind: Mapped[str] = mapped_column(String(16))  # article | intent | fallback
    intent: Mapped[str | None] = mapped_column(String(32), default=None)
    article_slug: Mapped[str | None] = mapped_column(String(120), default=None)
    confidence: Mapped[float] = mapped_column(default=0.0)
    # [{"id", "article_id", "position", "score"}]: the passages retrieved for the answer
    passages: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    clarifying: Mapped[bool] = mapped_column(default=False)  # asked the shopper to say more
    offered_human: Mapped[bool] = mapped_column(default=False)  # out of scope: offered a person
    # sold out: the variant the bot offered to tell the shopper about (a "yes" next signs them up)
    offered_variant_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    handed_off: Mapped[bool] = mapped_column(default=False)
    handoff_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    # the shopper's next move was to ask for a person (a sign this answer did not help)
    asked_for_human: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
