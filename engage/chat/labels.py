"""Labels on conversations ("refund", "vip"): free-form short slugs agents add and filter by."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.chat import timeline
from engage.chat.announcements import announce_state
from engage.chat.models import ConversationLabel
from engage.chat.participants import access_as_staff
from engage.platform.db import insert_for
from engage.platform.errors import InvalidInput
from engage.platform.identity import Identity

_LABEL = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_LABELS = 20


def normalise(label: str) -> str:
    label = "-".join(label.strip().lower().split())
    if not _LABEL.match(label):
        raise InvalidInput(
            "a label is 1-40 lowercase letters, digits, - or _", code="bad_label", field="labels"
        )
    return label


async def labels_of(session: AsyncSession, conversation_ids: Iterable[int]) -> dict[int, list[str]]:
    ids = list(conversation_ids)
    out: dict[int, list[str]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = await session.execute(
        select(ConversationLabel.conversation_id, ConversationLabel.label)
        .where(ConversationLabel.conversation_id.in_(ids))
        .order_by(ConversationLabel.label)
    )
    for conversation_id, label in rows.all():
        out[conversation_id].append(label)
    return out


async def change_labels(
    session: AsyncSession, ident: Identity, conversation_id: int, *, add: list[str], remove: list[str]
) -> list[str]:
    """Add and remove labels; returns the conversation's labels. Commits."""
    add_set, remove_set = {normalise(x) for x in add}, {normalise(x) for x in remove}
    conversation = await access_as_staff(session, ident, conversation_id, lock=True)
    current = set((await labels_of(session, [conversation.id]))[conversation.id])
    added, removed = add_set - current - remove_set, remove_set & current
    if len(current | added) - len(removed) > MAX_LABELS:
        raise InvalidInput(f"at most {MAX_LABELS} labels per conversation", code="too_many_labels")
    if added:
        insert = insert_for(session)
        await session.execute(
            insert(ConversationLabel)
            .values([{"conversation_id": conversation.id, "label": label} for label in sorted(added)])
            .on_conflict_do_nothing()
        )
    if removed:
        await session.execute(
            delete(ConversationLabel).where(
                ConversationLabel.conversation_id == conversation.id, ConversationLabel.label.in_(removed)
            )
        )
    if added or removed:
        who = ident.name or ident.email or "an agent"
        parts = [f"added {', '.join(sorted(added))}"] if added else []
        parts += [f"removed {', '.join(sorted(removed))}"] if removed else []
        await timeline.add_event(session, conversation, f"{who} {' and '.join(parts)}", private=True)
        announce_state(session, conversation)
    await session.commit()
    return sorted((current | added) - removed)


async def known_labels(session: AsyncSession) -> list[tuple[str, int]]:
    """Every label in use, with how many conversations carry it (for the console's filter)."""
    rows = await session.execute(
        select(ConversationLabel.label, func.count())
        .group_by(ConversationLabel.label)
        .order_by(func.count().desc(), ConversationLabel.label)
        .limit(200)
    )
    return [(label, int(count)) for label, count in rows.all()]
