"""A conversation's timeline: every stored item (message, note, event) in sequence order.

Sequence numbers are taken under the conversation row's write lock (`SELECT ... FOR UPDATE` on PostgreSQL;
SQLite's `BEGIN IMMEDIATE` serialises writers), so they are gap-free and unique per conversation even when
nodes race. Each item takes the next `seq` (the staff stream); items the shopper may see also take the next
`public_seq` (the shopper's stream). Everything here runs inside the caller's transaction; the caller
commits, and the events recorded here leave only after that commit.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.chat import events
from engage.chat.models import Attachment, Conversation, Kind, Message
from engage.chat.participants import SYSTEM, Sender, Side
from engage.chat.text import preview
from engage.chat.views import MessageView, message_view
from engage.platform.clock import utcnow
from engage.platform.errors import NotFound
from engage.platform.events import record

MAX_PAGE = 200


async def lock_conversation(session: AsyncSession, conversation_id: int) -> Conversation:
    """Load the conversation and hold its write lock until the transaction ends."""
    conversation = await session.get(
        Conversation, conversation_id, with_for_update=True, populate_existing=True
    )
    if conversation is None:
        raise NotFound("no such conversation", code="conversation_not_found")
    return conversation


async def append(
    session: AsyncSession,
    conversation: Conversation,
    sender: Sender,
    *,
    text: str,
    kind: Kind = Kind.message,
    private: bool = False,
    client_id: str | None = None,
    attachment: Attachment | None = None,
    meta: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Message:
    """Store one item with the next sequence number. `conversation` must be locked (`lock_conversation`)."""
    now = now or utcnow()
    private = private or kind is Kind.note
    conversation.last_seq += 1
    if not private:
        conversation.last_public_seq += 1
    conversation.last_activity_at = now
    if kind is Kind.message and not private:
        conversation.last_preview = preview(text or (f"📎 {attachment.filename}" if attachment else ""))
    message = Message(
        conversation_id=conversation.id,
        seq=conversation.last_seq,
        public_seq=None if private else conversation.last_public_seq,
        kind=kind.value,
        private=private,
        author=sender.author.value,
        author_key=sender.key,
        author_id=sender.user_id,
        author_name=sender.name,
        body=text,
        client_id=client_id or uuid.uuid4().hex,
        attachment_id=attachment.id if attachment is not None else None,
        meta=meta or {},
        created_at=now,
    )
    session.add(message)
    await session.flush()
    for event, channel in publications(message, attachment):
        record(session, event, [channel])
    return message


def publications(message: Message, attachment: Attachment | None) -> list[tuple[events.MessagePosted, str]]:
    """The `chat.message` event data of a stored item, per channel (staff always, the shopper if public)."""
    out = []
    for side in (Side.staff, Side.shopper):
        if side is Side.shopper and message.public_seq is None:
            continue
        view = message_view(message, attachment, side)
        channel = (
            events.staff_channel(message.conversation_id)
            if side is Side.staff
            else events.conversation_channel(message.conversation_id)
        )
        out.append(
            (
                events.MessagePosted(conversation_id=message.conversation_id, seq=view.seq, message=view),
                channel,
            )
        )
    return out


async def add_event(
    session: AsyncSession, conversation: Conversation, text: str, *, private: bool = False
) -> Message:
    """A system line in the timeline ("Sam joined the conversation"); `private` ones only staff see."""
    return await append(session, conversation, SYSTEM, text=text, kind=Kind.event, private=private)


def _position(side: Side) -> Any:
    return Message.seq if side is Side.staff else Message.public_seq


def _views(rows: list[tuple[Message, Attachment | None]], side: Side) -> list[MessageView]:
    return [message_view(message, attachment, side) for message, attachment in rows]


def _query(conversation_id: int, side: Side) -> Select[Message, Attachment]:  # Attachment: None if none
    query = (
        select(Message, Attachment)
        .outerjoin(Attachment, Attachment.id == Message.attachment_id)
        .where(Message.conversation_id == conversation_id)
    )
    if side is Side.shopper:
        query = query.where(Message.public_seq.is_not(None))
    return query


def _page_size(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE))


async def stored_after(
    session: AsyncSession, conversation_id: int, side: Side, after_seq: int, *, limit: int
) -> list[tuple[Message, Attachment | None]]:
    """Stored items after `after_seq` in `side`'s sequence, oldest first, at most `limit`."""
    position = _position(side)
    rows = await session.execute(
        _query(conversation_id, side).where(position > after_seq).order_by(position).limit(limit)
    )
    return [(message, attachment) for message, attachment in rows.all()]


async def replay_after(
    session: AsyncSession, conversation_id: int, side: Side, after_seq: int, *, limit: int = MAX_PAGE
) -> tuple[list[MessageView], bool]:
    """Items after `after_seq` (in `side`'s sequence), oldest first (resume); True when more follow."""
    size = _page_size(limit)
    rows = await stored_after(session, conversation_id, side, after_seq, limit=size + 1)
    return _views(rows[:size], side), len(rows) > size


async def page_before(
    session: AsyncSession, conversation_id: int, side: Side, before_seq: int | None, *, limit: int = 50
) -> tuple[list[MessageView], bool]:
    """The page of items before `before_seq` (the newest page when None), oldest first; True when older exist."""
    size, position = _page_size(limit), _position(side)
    query = _query(conversation_id, side)
    if before_seq is not None:
        query = query.where(position < before_seq)
    rows = (await session.execute(query.order_by(position.desc()).limit(size + 1))).all()
    page: list[tuple[Message, Attachment | None]] = [(m, a) for m, a in rows[:size]]
    page.reverse()
    return _views(page, side), len(rows) > size


async def find_sent(
    session: AsyncSession, conversation_id: int, sender_key: str, client_id: str
) -> Message | None:
    return await session.scalar(
        select(Message).where(
            Message.conversation_id == conversation_id,
            Message.author_key == sender_key,
            Message.client_id == client_id,
        )
    )
