"""A message into a conversation that needs nothing but the message: one statement, one round trip.

Most messages change nothing about their conversation but its counters, its preview and the first-response
clock: a shopper writing into an open conversation an agent has, an agent answering one. On PostgreSQL such a
message is stored by one statement in autocommit: it locks the conversation only if the sender takes part in
it, the conversation is in that state, and the sender's client id is new; raises the counters and moves the
clock; and inserts the message with the numbers it took. Atomic as one statement is: a racing copy of the
same client id fails the whole statement on the unique key, and nothing is taken.

When the statement finds no such conversation (another state, another side, a re-send, no such
conversation, not the sender's), it stores nothing and `messages.post` takes the general path, which
answers each of those cases.

The hot path stays off the ORM: the statement is compiled once and runs on the driver's connection, the
stored message is a plain record, and its events go to the publisher as soon as the statement returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import msgspec
from sqlalchemy import and_, bindparam, case, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from engage.chat import events
from engage.chat.models import Conversation, Kind, Message, Owner, Status, TeamMember
from engage.chat.participants import Sender, Side
from engage.chat.text import preview
from engage.chat.timeline import insert_numbered, item_fields, publications
from engage.platform.db import Base
from engage.platform.events import domain_event, publish_committed

_CONVERSATIONS = Base.metadata.tables[Conversation.__tablename__]
_ITEMS = Base.metadata.tables[Message.__tablename__]
_TEAM_MEMBERS = Base.metadata.tables[TeamMember.__tablename__]
# what the inbox hint reads
_STATE = ("status", "owner", "assignee_id", "team_id")


def _statement(side: Side, *, any_team: bool) -> Any:
    """The statement for a sender on `side`; `any_team`: staff who may answer in every team (admins)."""
    c = _CONVERSATIONS.c
    now = bindparam("item_created_at", type_=c.updated_at.type)
    not_sent = ~exists().where(
        _ITEMS.c.conversation_id == c.id,
        _ITEMS.c.author_key == bindparam("item_author_key"),
        _ITEMS.c.client_id == bindparam("item_client_id"),
    )
    if side is Side.shopper:
        takes_part = and_(c.owner_key == bindparam("item_author_key"), c.status == Status.open.value)
        clock: dict[Any, Any] = {c.waiting_since: func.coalesce(c.waiting_since, now)}
    else:
        takes_part = c.owner_key != bindparam("item_author_key")
        if not any_team:
            member = exists().where(
                _TEAM_MEMBERS.c.team_id == c.team_id, _TEAM_MEMBERS.c.user_id == bindparam("item_author_id")
            )
            takes_part = and_(takes_part, c.team_id.is_(None) | member)
        answered = case(
            (c.waiting_since.is_not(None), func.coalesce(c.first_response_at, now)),
            else_=c.first_response_at,
        )
        clock = {c.waiting_since: None, c.first_response_at: answered}
    before = (
        select(c.id, c.waiting_since)
        .where(c.id == bindparam("item_conversation_id"), c.owner == Owner.agent.value, takes_part, not_sent)
        .with_for_update()
        .cte("before")
    )
    numbers = (
        update(_CONVERSATIONS)
        .where(c.id == before.c.id)
        .values(
            {
                c.last_seq: c.last_seq + 1,
                c.last_public_seq: c.last_public_seq + 1,
                c.last_activity_at: now,
                c.updated_at: now,
                c.last_preview: bindparam("last_preview"),
                **clock,
            }
        )
        .returning(
            *(c[name] for name in _STATE),
            c.last_seq,
            c.last_public_seq,
            c.waiting_since,
            before.c.waiting_since.label("waited_since"),
        )
        .cte("numbers")
    )
    stored = insert_numbered(numbers, public=True).cte("stored")
    return select(stored, numbers).where(stored.c.seq == numbers.c.last_seq)


_STATEMENTS = {
    (side, any_team): _statement(side, any_team=any_team) for side in Side for any_team in (False, True)
}


async def post_steadily(
    session: AsyncSession,
    conversation_id: int,
    sender: Sender,
    side: Side,
    *,
    any_team: bool,
    text: str,
    client_id: str,
    now: datetime,
) -> Stored | None:
    """Store and announce the message if the conversation is in the steady state for `side` (None: it is
    not, or the message was sent before; nothing stored). `session` must be new: nothing begun, nothing
    loaded."""
    item = item_fields(
        conversation_id,
        sender,
        text=text,
        kind=Kind.message,
        private=False,
        client_id=client_id,
        attachment_id=None,
        meta={},
        now=now,
    )
    values = {f"item_{name}": value for name, value in item.items()} | {"last_preview": preview(text)}
    row = await _run(session.bind, (side, any_team), values)
    if row is None:
        return None
    message = Stored(id=row["id"], seq=row["seq"], public_seq=row["public_seq"], **item)
    waiting_since = row["waiting_since"].isoformat() if row["waiting_since"] else None
    clock_moved = (row["waited_since"] is None) != (waiting_since is None)
    published = [
        domain_event(event, [channel])
        for event, channel in publications(
            message, None, clock=waiting_since if clock_moved else msgspec.UNSET
        )
    ]
    if clock_moved:  # staff learn it from the message event; the inbox from its hint
        inbox = events.InboxChanged(
            conversation_id=conversation_id,
            waiting_since=waiting_since,
            **{name: row[name] for name in _STATE},
        )
        published.append(domain_event(inbox, [events.AGENTS]))
    publish_committed(session, published)
    return message


@dataclass(frozen=True, slots=True)
class Stored:
    """The message as stored (no ORM instance: nothing loads or tracks it)."""

    id: int
    seq: int
    public_seq: int | None
    conversation_id: int
    kind: str
    private: bool
    author: str
    author_key: str
    author_id: int | None
    author_name: str
    body: str
    client_id: str
    attachment_id: int | None
    meta: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class _Driven:
    """A statement compiled once for the driver: its SQL, parameter order and each parameter's conversion."""

    sql: str
    order: tuple[str, ...]
    convert: dict[str, Any]
    compiled: Any

    @classmethod
    def of(cls, statement: Any, dialect: Any) -> _Driven:
        compiled = statement.compile(dialect=dialect)
        convert = {
            name: processor
            for name, bind in compiled.binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        return cls(compiled.string, tuple(compiled.positiontup), convert, compiled)

    def arguments(self, values: dict[str, Any]) -> list[Any]:
        params = self.compiled.construct_params(values)
        return [
            self.convert[name](params[name]) if name in self.convert else params[name] for name in self.order
        ]


_DRIVEN: dict[tuple[Side, bool], _Driven] = {}  # compiled for the engine's dialect on first use


async def _run(engine: Any, key: tuple[Side, bool], values: dict[str, Any]) -> Any:
    """The statement on the driver's own connection, outside a transaction (so it commits alone), without
    the ORM's per-statement work: its row, or None (no row; a racing copy of the client id; a connection
    that failed, given back to be replaced: the general path then answers)."""
    driven = _DRIVEN.get(key)
    if driven is None:
        driven = _DRIVEN[key] = _Driven.of(_STATEMENTS[key], engine.dialect)
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        try:
            return await driver.fetchrow(driven.sql, *driven.arguments(values))
        except asyncpg.UniqueViolationError:
            return None
        except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError):
            await connection.invalidate()
            return None
