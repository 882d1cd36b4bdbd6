"""Support bot jobs and sinks: the bot's turns in chat, embedding help passages when articles change, keeping
every knowledge base fresh, and search conversions when an order is paid."""

from __future__ import annotations

from typing import Any

from bots import draining
from bots.search import analytics
from bots.search.live import refresh_help
from bots.support import knowledge
from bots.support.conversation import Turn, shopper_asked_for_a_person, take_turn
from bots.wiring import Bots
from commerce.orders.events import OrderUpdated
from engage import chat
from engage.platform.events import DomainEvent, Sink
from engage.platform.runtime import Runtime
from engage.services import Services


async def bot_reply(ctx: dict[str, Any], conversation_id: int, message_id: int, seq: int) -> str:
    """The bot's turn after a shopper's message in a bot-owned conversation."""
    services: Services = ctx["services"]
    async with services.sessionmaker() as session:
        answer = await take_turn(
            session,
            services.chat,
            services.bots.bot,
            Turn(conversation_id, message_id, seq),
            reply_timeout=services.settings.bot_reply_timeout_seconds,
        )
    return "quiet" if answer is None else answer.kind


async def note_shopper_handoff(ctx: dict[str, Any], conversation_id: int) -> None:
    runtime: Runtime = ctx["runtime"]
    async with runtime.sessionmaker() as session:
        await shopper_asked_for_a_person(session, conversation_id)


def _job_id(runtime: Runtime, kind: str, key: object) -> str:
    """arq keeps job ids in one namespace per Redis, whatever the queue: name the deployment in them."""
    return f"{runtime.queue_name}:{kind}:{key}"


def chat_bot_sink(services: Services) -> Sink:
    """Chat's `BOT_TURN` -> the bot's reply job; a shopper's own handoff -> noted on the bot's last answer."""
    runtime = services.runtime

    async def sink(events: list[DomainEvent]) -> None:
        for e in events:
            if e.type == chat.BOT_TURN:
                await runtime.jobs.enqueue(
                    "bot_reply",
                    int(e.data["conversation_id"]),
                    int(e.data["message_id"]),
                    int(e.data["seq"]),
                    job_id=_job_id(runtime, "bot-reply", e.data["message_id"]),
                )
            elif e.type == chat.HANDOFF and e.data.get("by") == "shopper":
                await runtime.jobs.enqueue("note_shopper_handoff", int(e.data["conversation_id"]))

    return sink


async def record_search_conversion(ctx: dict[str, Any], order_id: int) -> int:
    """A paid order: the searches whose clicked result it contains converted."""
    runtime: Runtime = ctx["runtime"]
    async with runtime.sessionmaker() as session:
        return await analytics.record_order_conversion(session, order_id)


def conversion_sink(services: Services) -> Sink:
    """commerce's `order.updated` with status paid -> search conversions (a job: sinks never wait)."""
    runtime = services.runtime

    async def sink(events: list[DomainEvent]) -> None:
        for e in events:
            if e.type == OrderUpdated.type and e.data["status"] == "paid":
                await runtime.jobs.enqueue(
                    "record_search_conversion",
                    int(e.data["order_id"]),
                    job_id=f"conversion:{e.data['order_id']}",
                )

    return sink


async def embed_help_passages(ctx: dict[str, Any], holder: str) -> int:
    """The one passage embedder: batches of new or changed passages until none are left."""
    services: Services = ctx["services"]
    runtime = services.runtime
    embedder = services.bots.embedder
    done = 0

    async def step() -> bool:
        nonlocal done
        async with runtime.sessionmaker() as session:
            embedded = await knowledge.embed_next_passages(session, embedder)
        done += embedded
        return embedded > 0

    async def waiting(session: Any) -> bool:
        return await knowledge.passages_waiting(session, embedder.model_name)

    await draining.drain(runtime.sessionmaker, knowledge.LEASE, holder, step, waiting)
    return done


async def kick_passage_embedder(bots: Bots) -> bool:
    return await bots.drains.kick(knowledge.LEASE, knowledge.EMBED_TASK)


async def sweep_help_passages(ctx: dict[str, Any]) -> None:
    """At start and periodically: passages waiting with no embedder (an import left them) get one."""
    services: Services = ctx["services"]
    async with services.sessionmaker() as session:
        waiting = await knowledge.passages_waiting(session, services.bots.embedder.model_name)
        await session.commit()
    if waiting:
        await kick_passage_embedder(services.bots)


def help_sink(services: Services) -> Sink:
    """`help.changed` -> embed what is new; `help.changed`/`help.embedded` -> reload here, tell the others."""
    bots = services.bots

    async def sink(events: list[DomainEvent]) -> None:
        if any(e.type == knowledge.CHANGED_EVENT for e in events):
            await kick_passage_embedder(bots)
        if any(e.type in (knowledge.CHANGED_EVENT, knowledge.EMBEDDED_EVENT) for e in events):
            await refresh_help(bots.bot)
            await bots.notes.announce(help=True)

    return sink
