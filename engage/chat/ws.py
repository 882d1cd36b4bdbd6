"""Chat's socket door: channel kinds for the real-time hub (who may watch, resume from the chat database) and
the chat frames (send, typing, read, delivered, viewing, presence). docs/protocol.md, "Chat".

Live delivery through the hub is the fast path; the database is the truth. Both conversation channels are
numbered by the chat database, so a reconnecting widget or console resumes with exactly the messages it
missed, replayed from the database, however long the channel backend kept anything.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Annotated, Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from engage.chat import assignment, availability, context, events, inbox, messages, timeline
from engage.chat.env import ChatEnv
from engage.chat.indicators import typing
from engage.chat.models import Author, Availability, Conversation
from engage.chat.participants import Side, is_staff, side_of
from engage.chat.views import to_builtins
from engage.platform.clock import epoch_ms
from engage.platform.errors import NotFound
from engage.platform.identity import Identity
from engage.platform.runtime import Runtime
from engage.realtime import ChannelKind, Publication, Realtime, Snapshot, SocketContext

# A client further behind than this (items, or bytes of text) gets the newest page as a snapshot and pages
# back over HTTP: one resume frame stays well below a megabyte.
RECOVER_MAX = 200
RECOVER_MAX_CHARS = 256 * 1024
SNAPSHOT_PAGE = 50

ConversationId = Annotated[int, msgspec.Meta(gt=0, le=2**62)]


class Send(msgspec.Struct):
    conversation_id: ConversationId
    text: Annotated[str, msgspec.Meta(max_length=100_000)]
    client_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    private: bool = False


class TypingFrame(msgspec.Struct):
    conversation_id: ConversationId
    typing: bool
    private: bool = False


class Position(msgspec.Struct):
    conversation_id: ConversationId
    seq: Annotated[int, msgspec.Meta(ge=0)]


class ViewingFrame(msgspec.Struct):
    handle: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Presence(msgspec.Struct):
    availability: Availability | None = None


def _side_of_channel(channel: str) -> Side:
    return Side.staff if channel.startswith(events.STAFF_KIND + ":") else Side.shopper


async def _conversation(session: AsyncSession, channel: str) -> Conversation | None:
    conversation_id = events.conversation_of(channel)
    return await session.get(Conversation, conversation_id) if conversation_id is not None else None


class ChatChannels:
    """The providers behind chat's channel kinds, reaching the database through the runtime."""

    def __init__(self, runtime: Runtime, env: ChatEnv) -> None:
        self.runtime = runtime
        self.env = env

    async def authorize(self, identity: Identity, channel: str) -> bool:
        async with self.runtime.sessionmaker() as session:
            conversation = await _conversation(session, channel)
            if conversation is None:
                return False
            side = await side_of(session, identity, conversation)
        wanted = _side_of_channel(channel)
        return side is Side.staff if wanted is Side.staff else side is not None

    async def recover(self, channel: str, last_seq: int) -> list[Publication] | None:
        side = _side_of_channel(channel)
        conversation_id = events.conversation_of(channel)
        if conversation_id is None:
            return None
        async with self.runtime.sessionmaker() as session:
            rows = await timeline.stored_after(
                session, conversation_id, side, last_seq, limit=RECOVER_MAX + 1
            )
        if len(rows) > RECOVER_MAX or sum(len(message.body) for message, _ in rows) > RECOVER_MAX_CHARS:
            return None
        out = []
        for message, attachment in rows:
            [data] = [
                to_builtins(event)
                for event, target in timeline.publications(message, attachment)
                if target == channel
            ]
            out.append(Publication(data["seq"], events.MESSAGE, data, epoch_ms(message.created_at)))
        return out

    async def snapshot(self, identity: Identity, channel: str) -> Snapshot:
        """The conversation and its newest page; `seq` is the newest item's position."""
        side = _side_of_channel(channel)
        async with self.runtime.sessionmaker() as session:
            conversation = await _conversation(session, channel)
            if conversation is None:
                raise NotFound("no such conversation", code="conversation_not_found")
            items, more = await timeline.page_before(
                session, conversation.id, side, None, limit=SNAPSHOT_PAGE
            )
            view = await inbox.describe(session, self.env, conversation, side)
        seq = items[-1].seq if items else 0
        return Snapshot(
            {
                "conversation": to_builtins(view),
                "messages": [to_builtins(m) for m in items],
                "has_more": more,
            },
            seq,
        )

    async def authorize_agents(self, identity: Identity, channel: str) -> bool:
        return is_staff(identity)

    async def agents_snapshot(self, identity: Identity, channel: str) -> dict[str, Any]:
        env = self.env
        async with self.runtime.sessionmaker() as session:
            counts = await inbox.counts(session, identity, sla_seconds=env.limits.first_response_seconds)
            agents = await availability.list_agents(session, env.limits.agent_capacity)
        return {"counts": to_builtins(counts), "agents": [to_builtins(a) for a in agents]}

    def kinds(self) -> list[ChannelKind]:
        conversation = ChannelKind(
            events.CONVERSATION_KIND,
            authorize=self.authorize,
            policy="reliable",
            sequencing="domain",
            recover=self.recover,
            snapshot=self.snapshot,
            epoch="chat",
        )
        return [
            conversation,
            # the staff side: alike but for its name
            dataclasses.replace(conversation, prefix=events.STAFF_KIND),
            ChannelKind(
                events.AGENTS,
                authorize=self.authorize_agents,
                policy="latest",
                snapshot=self.agents_snapshot,
                coalesce=events.agents_key,
            ),
        ]


# ---- frames ------------------------------------------------------------------------------------------------


async def send(env: ChatEnv, ctx: SocketContext, frame: dict[str, Any]) -> dict[str, Any]:
    """`chat.send`: store, then answer with the stored id and sequence (the ack)."""
    body = msgspec.convert(frame, Send)
    async with ctx.runtime.sessionmaker() as session:
        ack = await messages.post(
            session,
            env,
            ctx.identity,
            body.conversation_id,
            text=body.text,
            client_id=body.client_id,
            private=body.private,
        )
    return to_builtins(ack)


async def _side(ctx: SocketContext, conversation_id: int) -> Side:
    """The socket's side in the conversation; a watched channel already passed authorisation."""
    if ctx.is_subscribed(events.staff_channel(conversation_id)):
        return Side.staff
    async with ctx.runtime.sessionmaker() as session:
        conversation = await session.get(Conversation, conversation_id)
        side = await side_of(session, ctx.identity, conversation) if conversation is not None else None
    if side is None:
        raise NotFound("no such conversation", code="conversation_not_found")
    return side


async def typing_frame(env: ChatEnv, ctx: SocketContext, frame: dict[str, Any]) -> None:
    """`chat.typing`: live only, never stored."""
    body = msgspec.convert(frame, TypingFrame)
    side = await _side(ctx, body.conversation_id)
    ident = ctx.identity
    if side is Side.shopper:
        await typing(env, body.conversation_id, Author.shopper, "", body.typing)
    else:
        name = ident.name or ident.email or ""
        await typing(env, body.conversation_id, Author.agent, name, body.typing, private=body.private)


async def _receipt(ctx: SocketContext, frame: dict[str, Any], *, read: bool) -> dict[str, Any] | None:
    body = msgspec.convert(frame, Position)
    async with ctx.runtime.sessionmaker() as session:
        return await messages.mark_receipts(
            session,
            ctx.identity,
            body.conversation_id,
            delivered=body.seq,
            read=body.seq if read else None,
        )


async def read_frame(ctx: SocketContext, frame: dict[str, Any]) -> dict[str, Any] | None:
    """`chat.read`: read up to a public sequence (implies delivered)."""
    return await _receipt(ctx, frame, read=True)


async def delivered_frame(ctx: SocketContext, frame: dict[str, Any]) -> dict[str, Any] | None:
    """`chat.delivered`: received up to a public sequence."""
    return await _receipt(ctx, frame, read=False)


async def viewing_frame(env: ChatEnv, ctx: SocketContext, frame: dict[str, Any]) -> None:
    """`chat.viewing`: the storefront page reports the product the shopper is looking at."""
    body = msgspec.convert(frame, ViewingFrame)
    async with ctx.runtime.sessionmaker() as session:
        await context.report_viewing(session, env, ctx.runtime.stores["cache"], ctx.identity, body.handle)


async def presence_frame(env: ChatEnv, ctx: SocketContext, frame: dict[str, Any]) -> dict[str, Any]:
    """`chat.presence`: the console's heartbeat (with the agent's availability, to set it)."""
    body = msgspec.convert(frame, Presence)
    async with ctx.runtime.sessionmaker() as session:
        if body.availability is None:
            await availability.heartbeat(session, ctx.identity)
        elif await availability.set_availability(session, ctx.identity, body.availability):
            await assignment.dispatch(session, env)
    return {"ok": True}


def register(realtime: Realtime, runtime: Runtime, env: ChatEnv) -> None:
    for kind in ChatChannels(runtime, env).kinds():
        realtime.register_kind(kind)
    realtime.on_frame("chat.send", functools.partial(send, env))
    realtime.on_frame("chat.typing", functools.partial(typing_frame, env))
    realtime.on_frame("chat.read", read_frame)
    realtime.on_frame("chat.delivered", delivered_frame)
    realtime.on_frame("chat.viewing", functools.partial(viewing_frame, env))
    realtime.on_frame("chat.presence", functools.partial(presence_frame, env))
