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

import msgspec
from sqlalchemy import Executable, Select, bindparam, cast, insert, inspect, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from engage.chat import events
from engage.chat.models import Attachment, Conversation, Kind, Message
from engage.chat.participants import SYSTEM, Sender, Side
from engage.chat.text import preview
from engage.chat.views import MessageView, StoredItem, message_view
from engage.platform.clock import utcnow
from engage.platform.db import Base, dialect_of
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
    """Store one item with the next sequence number. `conversation` must be locked (`lock_conversation`).

    One statement on PostgreSQL: the conversation's counters are raised (`UPDATE ... RETURNING`), together
    with the conversation's other pending changes, and the item is written with the numbers they returned
    (SQLite, which has no writing CTEs, runs the same two parts one after the other). The returned item is
    not in the session: it is the stored row as written."""
    now = now or utcnow()
    private = private or kind is Kind.note
    conversation.last_activity_at = now
    conversation.updated_at = now
    if kind is Kind.message and not private:
        conversation.last_preview = preview(text or (f"📎 {attachment.filename}" if attachment else ""))
    if session.new or session.deleted:  # rows this one may refer to (an attachment) are written first
        await session.flush()
    state = inspect(conversation)
    changed = tuple(sorted(key for key in state.committed_state if key not in _COUNTERS))
    values: dict[str, Any] = {f"set_{key}": state.dict[key] for key in changed}
    item = item_fields(
        conversation.id,
        sender,
        text=text,
        kind=kind,
        private=private,
        client_id=client_id or uuid.uuid4().hex,
        attachment_id=attachment.id if attachment is not None else None,
        meta=meta or {},
        now=now,
    )
    values |= {f"item_{name}": value for name, value in item.items()}
    combined = dialect_of(session) == "postgresql"
    statements = _writes(changed, public=not private, combined=combined)
    # on the session's connection: the conversation's changes go with this statement, not in a flush before it
    connection = await session.connection()
    if combined:
        message_id, seq, public_seq = (await connection.execute(statements[0], values)).one()
    else:
        seq, last_public = (await connection.execute(statements[0], values)).one()
        public_seq = None if private else last_public
        values |= {"item_seq": seq, "item_public_seq": public_seq}
        message_id = (await connection.execute(statements[1], values)).scalar_one()
    # the conversation as stored: its counters, and nothing left for the session to write
    set_committed_value(conversation, "last_seq", seq)
    if public_seq is not None:
        set_committed_value(conversation, "last_public_seq", public_seq)
    state._commit_all(state.dict, session.sync_session.identity_map)
    message = Message(id=message_id, seq=seq, public_seq=public_seq, **item)
    for event, channel in publications(message, attachment):
        record(session, event, [channel])
    return message


def item_fields(
    conversation_id: int,
    sender: Sender,
    *,
    text: str,
    kind: Kind,
    private: bool,
    client_id: str,
    attachment_id: int | None,
    meta: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """A stored item's columns but its numbers (the `item_*` parameters of the writes)."""
    return {
        "conversation_id": conversation_id,
        "kind": kind.value,
        "private": private,
        "author": sender.author.value,
        "author_key": sender.key,
        "author_id": sender.user_id,
        "author_name": sender.name,
        "body": text,
        "client_id": client_id,
        "attachment_id": attachment_id,
        "meta": meta,
        "created_at": now,
    }


_CONVERSATIONS = Base.metadata.tables[Conversation.__tablename__]
_ITEMS = Base.metadata.tables[Message.__tablename__]
_COUNTERS = frozenset({"last_seq", "last_public_seq"})
_MESSAGE_FIELDS = (
    "conversation_id",
    "kind",
    "private",
    "author",
    "author_key",
    "author_id",
    "author_name",
    "body",
    "client_id",
    "attachment_id",
    "meta",
    "created_at",
)
# the statements of `append`, built once per shape: (changed columns, public, one statement or two)
_WRITES: dict[tuple[tuple[str, ...], bool, bool], tuple[Executable, ...]] = {}


def _writes(changed: tuple[str, ...], *, public: bool, combined: bool) -> tuple[Executable, ...]:
    """`combined`: one statement (a writing CTE) that raises the counters, writes the conversation's
    `changed` columns and inserts the item, returning its id and numbers. Otherwise two: the UPDATE, which
    returns the numbers, and the INSERT, which takes them as `item_seq` and `item_public_seq`."""
    shape = (changed, public, combined)
    built = _WRITES.get(shape)
    if built is not None:
        return built
    conversations, items = _CONVERSATIONS, _ITEMS
    raised: dict[Any, Any] = {conversations.c.last_seq: conversations.c.last_seq + 1}
    if public:
        raised[conversations.c.last_public_seq] = conversations.c.last_public_seq + 1
    counters = (
        update(conversations)
        .where(conversations.c.id == bindparam("item_conversation_id"))
        .values(
            {
                **raised,
                **{
                    conversations.c[key]: bindparam(f"set_{key}", type_=conversations.c[key].type)
                    for key in changed
                },
            }
        )
        .returning(conversations.c.last_seq, conversations.c.last_public_seq)
    )
    if combined:
        numbers = counters.cte("numbers")
        built = (insert_numbered(numbers, public=public).add_cte(numbers),)
    else:
        built = (
            counters,
            insert(items)
            .values({name: _item(name) for name in (*_MESSAGE_FIELDS, "seq", "public_seq")})
            .returning(items.c.id),
        )
    _WRITES[shape] = built
    return built


def insert_numbered(numbers: Any, *, public: bool) -> Any:
    """INSERT of the item with the numbers a CTE returned (`last_seq`, `last_public_seq`)."""
    items = _ITEMS
    # typed in the SELECT list (PostgreSQL infers no type for a bare parameter there)
    fields = [cast(_item(name), items.c[name].type) for name in _MESSAGE_FIELDS]
    public_seq = numbers.c.last_public_seq if public else null()
    row = select(*fields, numbers.c.last_seq, public_seq)
    return (
        insert(items)
        .from_select([*_MESSAGE_FIELDS, "seq", "public_seq"], row)
        .returning(items.c.id, items.c.seq, items.c.public_seq)
    )


def _item(name: str) -> Any:
    """The parameter of the item's `name` column (prefixed: a parameter named like a column of the table a
    statement updates or inserts would be taken as that column's value)."""
    return bindparam(f"item_{name}", type_=_ITEMS.c[name].type)


def publications(
    message: StoredItem,
    attachment: Attachment | None,
    *,
    clock: str | msgspec.UnsetType | None = msgspec.UNSET,
) -> list[tuple[events.MessagePosted, str]]:
    """The `chat.message` event data of a stored item, per channel (staff always, the shopper if public);
    `clock`: the first-response clock this item moved, for staff (`waiting_since`)."""
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
                events.MessagePosted(
                    conversation_id=message.conversation_id,
                    seq=view.seq,
                    message=view,
                    waiting_since=clock if side is Side.staff else msgspec.UNSET,
                ),
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
