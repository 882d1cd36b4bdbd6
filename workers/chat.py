"""Chat jobs: transcript mail, and the periodic upkeep of the queue (presence, snoozes, retention)."""

from __future__ import annotations

from typing import Any

from engage.chat import (
    agent_reply,
    assignment,
    availability,
    conversations,
    offline,
    retention,
    transcripts,
)
from engage.chat.env import ChatEnv
from engage.chat.participants import Side
from engage.platform.clock import utcnow
from engage.platform.events import DomainEvent, Sink
from engage.platform.mail import mail_configured
from engage.platform.runtime import Runtime
from engage.services import Services


def _parts(ctx: dict[str, Any]) -> tuple[Runtime, ChatEnv]:
    services: Services = ctx["services"]
    return services.runtime, services.chat


async def send_chat_transcript(ctx: dict[str, Any], conversation_id: int, to: str, side: str) -> None:
    """Mail a transcript; the request that queued it was authorised for `side`."""
    runtime, _ = _parts(ctx)
    async with runtime.sessionmaker() as session:
        await transcripts.email_transcript(session, runtime.settings, conversation_id, to=to, side=Side(side))


async def chat_reply_by_email(ctx: dict[str, Any], conversation_id: int, message: dict[str, Any]) -> bool:
    """An agent's reply that no open widget received, to the email the shopper left (nobody was online)."""
    runtime, _ = _parts(ctx)
    async with runtime.sessionmaker() as session:
        return await offline.email_unseen_reply(
            session,
            runtime.settings,
            conversation_id=conversation_id,
            public_seq=int(message["public_seq"]),
            author_name=str(message.get("author_name") or ""),
            text=str(message.get("text") or ""),
        )


def reply_email_sink(services: Services) -> Sink:
    """Agents' public replies: mailed later to a shopper who left an email, if no widget got them."""

    async def sink(events: list[DomainEvent]) -> None:
        if not mail_configured(services.settings):  # nothing could be mailed: no job per reply
            return
        for e in events:
            if (reply := agent_reply(e)) is None:
                continue
            conversation_id, message = reply
            await services.runtime.jobs.enqueue(
                "chat_reply_by_email",
                conversation_id,
                {k: message.get(k) for k in ("public_seq", "author_name", "text")},
                job_id=f"{services.runtime.queue_name}:chat-mail:{message['id']}",
                defer_seconds=services.settings.push_chat_delay_seconds,
            )

    return sink


async def chat_upkeep(ctx: dict[str, Any]) -> None:
    """Agents whose console went silent become offline; snoozes end; waiting conversations get agents
    (a safety net: every change that frees or needs an agent dispatches at once)."""
    runtime, env = _parts(ctx)
    async with runtime.sessionmaker() as session:
        await availability.expire_stale(session)
        await conversations.wake_snoozed(session, env)
        await assignment.dispatch(session, env)


async def purge_old_conversations(ctx: dict[str, Any]) -> None:
    """Export conversations past ENGAGE_CHAT_RETENTION_DAYS to object storage, then delete them."""
    runtime, env = _parts(ctx)
    chunks: list[bytes] = []

    async def collect(data: bytes) -> None:
        chunks.append(data)

    report = await retention.export_and_purge(
        runtime.sessionmaker, env.blobs, retention_days=env.limits.retention_days, write=collect
    )
    if report.conversations:
        key = f"exports/chat/retention-{utcnow():%Y%m%dT%H%M%S}.jsonl"
        await env.blobs.put(key, b"".join(chunks), "application/x-ndjson")
