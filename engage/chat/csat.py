"""Customer satisfaction: the shopper rates an ended conversation 1-5 with an optional comment."""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.chat import offline, timeline
from engage.chat.models import Rating, Status
from engage.chat.participants import access_as_shopper
from engage.chat.text import clean_text
from engage.platform.clock import utcnow
from engage.platform.db import insert_for
from engage.platform.errors import Conflict, InvalidInput
from engage.platform.identity import Identity

COMMENT_CHARS = 1000


class RatingView(msgspec.Struct):
    conversation_id: int
    score: int
    comment: str


class CsatSummary(msgspec.Struct):
    ratings: int
    average: float | None
    by_score: dict[str, int]
    satisfied_percent: float | None  # 4s and 5s, the usual CSAT figure


async def rate(
    session: AsyncSession, ident: Identity, conversation_id: int, *, score: int, comment: str = ""
) -> RatingView:
    """Rate (or re-rate) an ended conversation; only its shopper can. Commits."""
    if not 1 <= score <= 5:
        raise InvalidInput("a rating is 1 to 5", code="bad_score", field="score")
    comment = clean_text(comment, max_chars=COMMENT_CHARS, allow_empty=True)
    conversation = await access_as_shopper(session, ident, conversation_id, lock=True)
    if conversation.status != Status.resolved.value:
        raise Conflict("a conversation can be rated once it has ended", code="not_ended")
    await offline.check_can_be_rated(session, conversation.id)
    insert = insert_for(session)
    values = {
        "score": score,
        "comment": comment,
        "agent_id": conversation.assignee_id,
        "updated_at": utcnow(),
    }
    await session.execute(
        insert(Rating)
        .values(conversation_id=conversation.id, created_at=utcnow(), **values)
        .on_conflict_do_update(index_elements=[Rating.conversation_id], set_=values)
    )
    note = f"The shopper rated this conversation {score}/5" + (f": {comment}" if comment else "")
    await timeline.add_event(session, conversation, note, private=True)
    await session.commit()
    return RatingView(conversation_id=conversation.id, score=score, comment=comment)


async def rating_of(session: AsyncSession, conversation_id: int) -> Rating | None:
    return await session.get(Rating, conversation_id, populate_existing=True)


async def summary(
    session: AsyncSession,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    agent_id: int | None = None,
) -> CsatSummary:
    """Ratings given (or changed) in [since, until)."""
    query = select(Rating.score, func.count()).group_by(Rating.score)
    if since is not None:
        query = query.where(Rating.updated_at >= since)
    if until is not None:
        query = query.where(Rating.updated_at < until)
    if agent_id is not None:
        query = query.where(Rating.agent_id == agent_id)
    by_score = {str(s): 0 for s in range(1, 6)}
    for score, count in (await session.execute(query)).all():
        by_score[str(score)] = int(count)
    total = sum(by_score.values())
    if not total:
        return CsatSummary(ratings=0, average=None, by_score=by_score, satisfied_percent=None)
    average = sum(int(s) * n for s, n in by_score.items()) / total
    satisfied = (by_score["4"] + by_score["5"]) * 100 / total
    return CsatSummary(
        ratings=total, average=round(average, 2), by_score=by_score, satisfied_percent=round(satisfied, 1)
    )
