"""Retention: conversations with no activity for ENGAGE_CHAT_RETENTION_DAYS are exported, then purged.

The export is JSON Lines, one conversation per line (its messages, labels, rating and attachment metadata),
written and flushed before the batch is deleted; stored files go after the rows are gone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from engage.chat.models import Attachment, Conversation, ConversationLabel, Message, Rating
from engage.platform.blobs import BlobStorage
from engage.platform.clock import utcnow

_BATCH = 100


class PurgeReport(msgspec.Struct):
    cutoff: datetime
    conversations: int = 0
    messages: int = 0
    attachments: int = 0
    dry_run: bool = False


def cutoff_for(days: int, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=days)


async def _export_one(session: AsyncSession, conversation: Conversation) -> tuple[dict[str, Any], list[str]]:
    msgs = (
        await session.scalars(
            select(Message).where(Message.conversation_id == conversation.id).order_by(Message.seq)
        )
    ).all()
    files = (
        await session.scalars(select(Attachment).where(Attachment.conversation_id == conversation.id))
    ).all()
    labels = (
        await session.scalars(
            select(ConversationLabel.label).where(ConversationLabel.conversation_id == conversation.id)
        )
    ).all()
    rating = await session.get(Rating, conversation.id)
    record = {
        "id": conversation.id,
        "owner_key": conversation.owner_key,
        "user_id": conversation.user_id,
        "contact_name": conversation.contact_name,
        "contact_email": conversation.contact_email,
        "status": conversation.status,
        "team_id": conversation.team_id,
        "assignee_id": conversation.assignee_id,
        "created_at": conversation.created_at,
        "last_activity_at": conversation.last_activity_at,
        "labels": list(labels),
        "rating": {"score": rating.score, "comment": rating.comment} if rating else None,
        "messages": [
            {
                "seq": m.seq,
                "kind": m.kind,
                "private": m.private,
                "author": m.author,
                "author_name": m.author_name,
                "text": m.body,
                "attachment_id": m.attachment_id,
                "meta": m.meta,
                "created_at": m.created_at,
            }
            for m in msgs
        ],
        "attachments": [
            {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in files
        ],
    }
    return record, [a.storage_key for a in files]


async def export_and_purge(
    sessionmaker: async_sessionmaker[AsyncSession],
    blobs: BlobStorage,
    *,
    retention_days: int,
    write: Callable[[bytes], Awaitable[None]],
    dry_run: bool = False,
    now: datetime | None = None,
) -> PurgeReport:
    """Export every conversation inactive since the cutoff through `write` (one JSON line each), then delete
    it (unless `dry_run`). Batches commit one by one, so an interrupted purge loses nothing it has not written."""
    report = PurgeReport(cutoff=cutoff_for(retention_days, now), dry_run=dry_run)
    after_id = 0
    while True:
        async with sessionmaker() as session:
            batch = (
                await session.scalars(
                    select(Conversation)
                    .where(Conversation.last_activity_at < report.cutoff, Conversation.id > after_id)
                    .order_by(Conversation.id)
                    .limit(_BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not batch:
                await session.commit()
                return report
            after_id = batch[-1].id
            keys: list[str] = []
            lines = []
            for conversation in batch:
                record, files = await _export_one(session, conversation)
                lines.append(msgspec.json.encode(record) + b"\n")
                report.messages += len(record["messages"])
                report.attachments += len(files)
                keys.extend(files)
            await write(b"".join(lines))
            report.conversations += len(batch)
            if dry_run:
                await session.rollback()
                continue
            await session.execute(delete(Conversation).where(Conversation.id.in_([c.id for c in batch])))
            await session.commit()
        for key in keys:
            await blobs.delete(key)
