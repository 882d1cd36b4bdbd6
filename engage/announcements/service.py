"""Announcements: a marketer's notice to every open storefront tab ("the flash sale starts in 5 minutes").

Posting one records `announcement.posted` on the `announcements` channel; a tab that opens later gets the
ones still running as the channel's snapshot.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.announcements.events import CHANNEL, Ended, Posted
from engage.announcements.models import Announcement
from engage.platform.clock import utcnow
from engage.platform.errors import InvalidInput, NotFound
from engage.platform.events import record
from engage.platform.identity import Identity

MAX_CHARS = 280
MAX_MINUTES = 7 * 24 * 60
# A storefront shows a few notices at most; older running ones stay in the database.
SNAPSHOT_SIZE = 5

Level = Literal["info", "promo", "warning"]


def posted(announcement: Announcement) -> Posted:
    return Posted(
        id=announcement.id,
        text=announcement.text,
        level=announcement.level,
        by=announcement.author_name,
        created_at=announcement.created_at.isoformat(),
        expires_at=announcement.expires_at.isoformat(),
    )


def as_dict(announcement: Announcement) -> dict[str, Any]:
    payload: dict[str, Any] = msgspec.to_builtins(posted(announcement))  # a struct becomes a dict
    return payload


async def announce(
    session: AsyncSession, author: Identity, text: str, *, level: Level = "info", minutes: int = 60
) -> Announcement:
    text = " ".join(text.split())
    if not text:
        raise InvalidInput("an announcement needs some text", field="text")
    if len(text) > MAX_CHARS:
        raise InvalidInput(f"announcements are at most {MAX_CHARS} characters", field="text")
    if not 1 <= minutes <= MAX_MINUTES:
        raise InvalidInput(f"an announcement runs 1 to {MAX_MINUTES} minutes", field="minutes")
    now = utcnow()
    announcement = Announcement(
        text=text,
        level=level,
        author_id=author.user_id,
        author_name=author.name or "Luxia",
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    session.add(announcement)
    await session.flush()
    record(session, posted(announcement), [CHANNEL])
    await session.commit()
    return announcement


async def running(session: AsyncSession, *, limit: int = SNAPSHOT_SIZE) -> list[Announcement]:
    rows = await session.scalars(
        select(Announcement)
        .where(Announcement.expires_at > utcnow())
        .order_by(Announcement.id.desc())
        .limit(limit)
    )
    return list(rows)


async def end(session: AsyncSession, announcement_id: int) -> Announcement:
    """End a running announcement now (`announcement.ended` takes it off every tab); one that has already
    ended stays as it was."""
    announcement = await session.get(Announcement, announcement_id, with_for_update=True)
    if announcement is None:
        raise NotFound(f"no announcement #{announcement_id}")
    now = utcnow()
    if announcement.expires_at > now:
        announcement.expires_at = now
        record(session, Ended(id=announcement.id), [CHANNEL])
    await session.commit()
    return announcement
