"""Posting into a conversation, by the shopper, an agent or the bot; history; delivered/read receipts.

A message is stored (with its sequence number) before it is acknowledged, and the acknowledgement carries the
stored id and sequence. The client's `client_id` makes a re-send idempotent: the same sender re-sending the
same id gets the stored message back, never a second copy, also when two copies race.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import msgspec
from sqlalchemy import and_, bindparam, case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from engage.chat import assignment, conversations, events, steady_post, timeline
from engage.chat.announcements import announce_waiting
from engage.chat.env import ChatEnv
from engage.chat.models import Attachment, Author, Conversation, Kind, Message, Owner, Status
from engage.chat.participants import (
    Sender,
    Side,
    access_conversation,
    bot_sender,
    is_staff,
    sender_of,
    shopper_key,
    side_of,
)
from engage.chat.text import check_client_id, clean_text, is_safe_url
from engage.chat.views import Ack, MessageView, StoredItem
from engage.platform.clock import utcnow
from engage.platform.db import dialect_of
from engage.platform.errors import Conflict, InvalidInput, NotFound, RateLimited
from engage.platform.events import record
from engage.platform.identity import Identity, Role

_META_BYTES = 4096
_META_ITEMS = 5


def ack_of(message: StoredItem, duplicate: bool, side: Side = Side.staff) -> Ack:
    seq = message.public_seq if side is Side.shopper else message.seq
    assert seq is not None
    return Ack(
        conversation_id=message.conversation_id,
        id=message.id,
        seq=seq,
        client_id=message.client_id,
        created_at=message.created_at,
        duplicate=duplicate,
    )


async def _store(
    session: AsyncSession,
    conversation: Conversation,
    sender: Sender,
    *,
    text: str,
    client_id: str | None,
    private: bool = False,
    attachment: Attachment | None = None,
    meta: dict[str, Any] | None = None,
    on_stored: Callable[[Message], None] | None = None,
    side: Side = Side.staff,
) -> Ack:
    """Append and commit; a racing copy of the same client id resolves to the stored message."""
    conversation_id = conversation.id
    try:
        message = await timeline.append(
            session,
            conversation,
            sender,
            text=text,
            kind=Kind.note if private else Kind.message,
            client_id=client_id,
            attachment=attachment,
            meta=meta,
        )
        if on_stored is not None:
            on_stored(message)
        await session.commit()
    except IntegrityError:
        await session.rollback()
        stored = await timeline.find_sent(session, conversation_id, sender.key, client_id or "")
        if stored is None:
            raise
        return ack_of(stored, True, side)
    return ack_of(message, False, side)


# Built once (no statement to build and key per message): the conversation, locked, joined with the
# sender's earlier message of the same client id (a sender's key is their owner key on either side, see
# participants.sender_of)
_LOCK_FOR_POSTING = (
    select(Conversation, Message)
    .where(Conversation.id == bindparam("conversation_id"))
    .outerjoin(
        Message,
        and_(
            Message.conversation_id == Conversation.id,
            Message.author_key == bindparam("author_key"),
            Message.client_id == bindparam("client_id"),
        ),
    )
    .with_for_update(of=Conversation)
    .execution_options(populate_existing=True)
)


async def _lock_for_posting(
    session: AsyncSession, ident: Identity, conversation_id: int, client_id: str | None
) -> tuple[Conversation, Side, Message | None]:
    """One round trip on the hot path: the conversation, locked, with the sender's earlier message of the
    same client id if there is one. NotFound unless `ident` takes part in it."""
    params = {
        "conversation_id": conversation_id,
        "author_key": shopper_key(ident) or "",
        "client_id": client_id or "",
    }
    row = (await session.execute(_LOCK_FOR_POSTING, params)).first()
    side = await side_of(session, ident, row[0]) if row is not None else None
    if row is None or side is None:
        raise NotFound("no such conversation", code="conversation_not_found")
    return row[0], side, row[1]


async def post(
    session: AsyncSession,
    env: ChatEnv,
    ident: Identity,
    conversation_id: int,
    *,
    text: str,
    client_id: str | None = None,
    private: bool = False,
    attachment: Attachment | None = None,
) -> Ack:
    """A shopper or an agent posts; `private` (agents only) makes it a note the shopper never sees."""
    text = clean_text(text, max_chars=env.limits.max_message_chars, allow_empty=attachment is not None)
    if client_id is not None:
        check_client_id(client_id)
    counted = False
    if not private and attachment is None and _may_post_steadily(session, ident):
        # one id for both paths: if the steady statement's answer was lost with its connection, the general
        # path finds what it stored instead of storing it again
        client_id = client_id or uuid.uuid4().hex
        counted = await _count_message(env, ident)
        if counted:
            ack = await _post_steadily(session, ident, conversation_id, text, client_id)
            if ack is not None:
                return ack
    conversation, side, stored = await _lock_for_posting(session, ident, conversation_id, client_id)
    if stored is not None:
        await session.commit()
        return ack_of(stored, True, side)  # a re-send: the stored message, never counted again
    if side is Side.shopper and private:
        raise InvalidInput("only agents can write private notes", code="notes_are_for_staff", field="private")
    sender = sender_of(ident, side)
    if not counted:
        await env.rate_limit.hit(sender.key)

    needs_dispatch = False
    if side is Side.shopper:
        needs_dispatch = await conversations.reopen_for_shopper(session, conversation)
        if (
            conversation.owner != Owner.bot.value
            and conversation.status == Status.open.value
            and conversation.waiting_since is None
        ):
            conversation.waiting_since = utcnow()  # the first-response clock starts
            announce_waiting(session, conversation)
            needs_dispatch = needs_dispatch or conversation.owner == Owner.queue.value
    elif not private:
        if conversation.owner != Owner.agent.value:
            await assignment.give(session, conversation, assignment.agent_ref(ident))
        if conversation.waiting_since is not None:
            conversation.waiting_since = None
            conversation.first_response_at = conversation.first_response_at or utcnow()
            announce_waiting(session, conversation)
    bot_turn = side is Side.shopper and conversation.owner == Owner.bot.value
    ack = await _store(
        session,
        conversation,
        sender,
        text=text,
        client_id=client_id,
        private=private,
        attachment=attachment,
        on_stored=(lambda message: _bot_turn(session, conversation, message)) if bot_turn else None,
        side=side,
    )
    if needs_dispatch:
        await assignment.dispatch(session, env)
    return ack


def _may_post_steadily(session: AsyncSession, ident: Identity) -> bool:
    """PostgreSQL (SQLite has no writing CTEs), a sender, and a new session (nothing begun, nothing loaded:
    the general path may follow in it)."""
    return (
        shopper_key(ident) is not None
        and not session.in_transaction()
        and not session.identity_map
        and dialect_of(session) == "postgresql"
    )


async def _count_message(env: ChatEnv, ident: Identity) -> bool:
    """Count the message against the sender's limit (their key is the same on either side). Past it, the
    general path decides: a re-send is answered with the stored message all the same."""
    try:
        await env.rate_limit.hit(ident.owner_key)
    except RateLimited:
        return False
    return True


async def _post_steadily(
    session: AsyncSession, ident: Identity, conversation_id: int, text: str, client_id: str
) -> Ack | None:
    side = Side.staff if is_staff(ident) else Side.shopper  # staff writing as a shopper: the general path
    message = await steady_post.post_steadily(
        session,
        conversation_id,
        sender_of(ident, side),
        side,
        any_team=ident.role is Role.admin,
        text=text,
        client_id=client_id,
        now=utcnow(),
    )
    return ack_of(message, False, side) if message is not None else None


async def newest_unseen_reply(session: AsyncSession, conversation: Conversation) -> Message | None:
    """The newest public agent reply no chat widget of the shopper confirmed (delivered or read)."""
    seen = max(conversation.shopper_delivered_seq, conversation.shopper_read_seq)
    return await session.scalar(
        select(Message)
        .where(
            Message.conversation_id == conversation.id,
            Message.author == Author.agent.value,
            Message.kind == Kind.message.value,
            Message.public_seq > seen,
        )
        .order_by(Message.public_seq.desc())
        .limit(1)
    )


def _bot_turn(session: AsyncSession, conversation: Conversation, message: Message) -> None:
    """Tell the bot area (through a job sink) that the shopper spoke in a bot-owned conversation."""
    record(
        session,
        events.BotTurn(
            conversation_id=conversation.id,
            message_id=message.id,
            seq=message.seq,
            text=message.body,
            owner_key=conversation.owner_key,
            user_id=conversation.user_id,
        ),
    )


def clean_meta(meta: dict[str, Any] | None) -> dict[str, Any]:
    """The bot's extras: up to five article links (title + safe url) and five suggested replies."""
    if not meta:
        return {}
    if len(msgspec.json.encode(meta)) > _META_BYTES:
        raise InvalidInput("message extras are too large", code="meta_too_large")
    out: dict[str, Any] = {}
    articles = meta.get("articles") or []
    if not isinstance(articles, list) or len(articles) > _META_ITEMS:
        raise InvalidInput(f"at most {_META_ITEMS} articles", code="bad_meta")
    cleaned = []
    for article in articles:
        title, url = (article or {}).get("title"), (article or {}).get("url")
        if not isinstance(title, str) or not isinstance(url, str) or not is_safe_url(url):
            raise InvalidInput(
                "an article needs a title and an http(s) or site-relative url", code="bad_meta"
            )
        cleaned.append({"title": clean_text(title, max_chars=200), "url": url})
    if cleaned:
        out["articles"] = cleaned
    suggestions = meta.get("suggestions") or []
    if not isinstance(suggestions, list) or len(suggestions) > _META_ITEMS:
        raise InvalidInput(f"at most {_META_ITEMS} suggestions", code="bad_meta")
    if suggestions:
        out["suggestions"] = [clean_text(str(s), max_chars=80) for s in suggestions]
    return out


async def post_as_bot(
    session: AsyncSession,
    env: ChatEnv,
    conversation_id: int,
    text: str,
    *,
    client_id: str | None = None,
    meta: dict[str, Any] | None = None,
) -> Ack:
    """The bot answers through the same path as agents. Conflict if a human has the conversation by now."""
    text = clean_text(text, max_chars=env.limits.max_message_chars)
    meta = clean_meta(meta)
    if client_id is not None:
        check_client_id(client_id)
    profile = env.bot
    sender = bot_sender(profile.name if profile else "Assistant")
    conversation = await timeline.lock_conversation(session, conversation_id)
    if client_id is not None and (
        stored := await timeline.find_sent(session, conversation.id, sender.key, client_id)
    ):
        await session.commit()
        return ack_of(stored, True)
    if conversation.owner != Owner.bot.value or conversation.status == Status.resolved.value:
        await (
            session.commit()
        )  # nothing changed; releases the lock (a rollback would expire the caller's objects)
        raise Conflict("the conversation is no longer with the bot", code="not_bot_owned")
    return await _store(session, conversation, sender, text=text, client_id=client_id, meta=meta)


async def history(
    session: AsyncSession,
    ident: Identity,
    conversation_id: int,
    *,
    after: int | None = None,
    before: int | None = None,
    limit: int = 50,
) -> tuple[list[MessageView], bool]:
    """`after`: replay what followed a sequence (resume); otherwise the page before `before` (or the newest)."""
    conversation, side = await access_conversation(session, ident, conversation_id)
    if after is not None:
        return await timeline.replay_after(session, conversation.id, side, after, limit=limit)
    return await timeline.page_before(session, conversation.id, side, before, limit=limit)


async def mark_receipts(
    session: AsyncSession,
    ident: Identity,
    conversation_id: int,
    *,
    delivered: int | None = None,
    read: int | None = None,
) -> dict[str, Any] | None:
    """Raise the reader's side's delivered/read position (public sequence; never lowers it).
    Returns the receipt if it changed; both channels hear of it."""
    conversation, side = await access_conversation(session, ident, conversation_id)
    delivered = max(delivered or 0, read or 0)
    read = read or 0
    if delivered <= 0:
        return None
    last = conversation.last_public_seq
    delivered, read = min(delivered, last), min(read, last)
    if side is Side.shopper:
        delivered_col, read_col = Conversation.shopper_delivered_seq, Conversation.shopper_read_seq
    else:
        delivered_col, read_col = Conversation.agent_delivered_seq, Conversation.agent_read_seq
    row = (
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation.id, (delivered_col < delivered) | (read_col < read))
            .values(
                {
                    delivered_col: case((delivered_col < delivered, delivered), else_=delivered_col),
                    read_col: case((read_col < read, read), else_=read_col),
                }
            )
            .returning(delivered_col, read_col)
        )
    ).first()
    if row is None:
        await session.commit()
        return None
    receipt = events.Receipt(
        conversation_id=conversation.id, side=side.value, delivered_seq=int(row[0]), read_seq=int(row[1])
    )
    record(
        session,
        receipt,
        [events.conversation_channel(conversation.id), events.staff_channel(conversation.id)],
    )
    await session.commit()
    payload: dict[str, Any] = msgspec.to_builtins(receipt)  # a struct becomes a dict
    return payload
