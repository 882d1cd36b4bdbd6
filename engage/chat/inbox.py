"""The agent console's inbox: views (unassigned, mine, bot, all), counts, and search across conversations and
messages. Everything here is limited to the conversations the agent may see (teams)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

import msgspec
from sqlalchemy import ColumnElement, Select, SQLColumnExpression, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.chat.env import ChatEnv
from engage.chat.labels import labels_of
from engage.chat.models import (
    ACTIVE_STATUSES,
    Conversation,
    ConversationLabel,
    Message,
    Owner,
    Rating,
    Status,
)
from engage.chat.participants import Side, is_staff, staff_visibility
from engage.chat.views import (
    AgentRef,
    ShopperConversationView,
    StaffConversationView,
    shopper_view,
    staff_view,
)
from engage.platform.clock import as_utc, utcnow
from engage.platform.errors import InvalidInput, PermissionDenied
from engage.platform.identity import Identity

MAX_PAGE = 100


class View(StrEnum):
    unassigned = "unassigned"  # waiting in the queue for a human, oldest first
    mine = "mine"
    bot = "bot"  # with the bot
    all = "all"


class StatusFilter(StrEnum):
    open = "open"
    pending = "pending"
    snoozed = "snoozed"
    resolved = "resolved"
    unresolved = "unresolved"
    any = "any"


class InboxPage(msgspec.Struct):
    items: list[StaffConversationView]
    next_cursor: str | None


class Counts(msgspec.Struct):
    unassigned: int
    mine: int
    bot: int
    open: int
    sla_breached: int


class SearchHit(msgspec.Struct):
    conversation: StaffConversationView
    snippet: str
    seq: int | None


def _visible(ident: Identity) -> Select[Conversation]:
    if not is_staff(ident):
        raise PermissionDenied("only support staff can see the inbox", code="staff_only")
    query = select(Conversation)
    clause = staff_visibility(ident)
    return query.where(clause) if clause is not None else query


def _status_clause(status: StatusFilter) -> ColumnElement[bool] | None:
    if status is StatusFilter.any:
        return None
    if status is StatusFilter.unresolved:
        return Conversation.status != Status.resolved.value
    return Conversation.status == status.value


async def views_of(
    session: AsyncSession, conversations: Sequence[Conversation], sla_seconds: int
) -> list[StaffConversationView]:
    ids = [c.id for c in conversations]
    labels = await labels_of(session, ids)
    ratings = (
        {
            cid: (score, comment)
            for cid, score, comment in (
                await session.execute(
                    select(Rating.conversation_id, Rating.score, Rating.comment).where(
                        Rating.conversation_id.in_(ids)
                    )
                )
            ).all()
        }
        if ids
        else {}
    )
    now = utcnow()
    return [
        staff_view(
            c,
            assignee=AgentRef(c.assignee_id, c.assignee_name) if c.assignee_id is not None else None,
            labels=labels.get(c.id, []),
            rating=ratings.get(c.id),
            sla_seconds=sla_seconds,
            now=now,
        )
        for c in conversations
    ]


async def describe(
    session: AsyncSession, env: ChatEnv, conversation: Conversation, side: Side
) -> ShopperConversationView | StaffConversationView:
    """The conversation as `side` sees it."""
    if side is Side.staff:
        return (await views_of(session, [conversation], env.limits.first_response_seconds))[0]
    rating = await session.get(Rating, conversation.id)
    agent = (
        AgentRef(conversation.assignee_id, conversation.assignee_name)
        if conversation.owner == Owner.agent.value and conversation.assignee_id is not None
        else None
    )
    return shopper_view(conversation, agent, rating.score if rating else None)


def _parse_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    try:
        stamp, _, ident = cursor.rpartition("_")
        return as_utc(datetime.fromisoformat(stamp)), int(ident)
    except ValueError:
        raise InvalidInput("bad cursor", code="bad_cursor", field="cursor") from None


async def list_inbox(
    session: AsyncSession,
    ident: Identity,
    view: View,
    *,
    status: StatusFilter = StatusFilter.open,
    label: str | None = None,
    team_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
    sla_seconds: int,
) -> InboxPage:
    """One page of a view. Unassigned: oldest waiting first; others: most recent activity first."""
    size = max(1, min(limit, MAX_PAGE))
    query = _visible(ident)
    if view is View.unassigned:
        query = query.where(Conversation.owner == Owner.queue.value)
    elif view is View.mine:
        query = query.where(
            Conversation.owner == Owner.agent.value, Conversation.assignee_id == ident.user_id
        )
    elif view is View.bot:
        query = query.where(Conversation.owner == Owner.bot.value)
    if (clause := _status_clause(status)) is not None:
        query = query.where(clause)
    if label:
        query = query.where(
            Conversation.id.in_(
                select(ConversationLabel.conversation_id).where(ConversationLabel.label == label)
            )
        )
    if team_id is not None:
        query = query.where(Conversation.team_id == team_id)
    after = _parse_cursor(cursor)
    key: SQLColumnExpression[datetime]
    if view is View.unassigned:
        key = func.coalesce(Conversation.waiting_since, Conversation.created_at)
        if after is not None:
            query = query.where((key > after[0]) | ((key == after[0]) & (Conversation.id > after[1])))
        query = query.order_by(key, Conversation.id)
    else:
        key = Conversation.last_activity_at
        if after is not None:
            query = query.where((key < after[0]) | ((key == after[0]) & (Conversation.id < after[1])))
        query = query.order_by(key.desc(), Conversation.id.desc())
    rows = list((await session.scalars(query.limit(size + 1))).all())
    page = rows[:size]
    next_cursor = None
    if len(rows) > size:
        last = page[-1]
        stamp = (last.waiting_since or last.created_at) if view is View.unassigned else last.last_activity_at
        next_cursor = f"{stamp.isoformat()}_{last.id}"
    return InboxPage(items=await views_of(session, page, sla_seconds), next_cursor=next_cursor)


async def counts(session: AsyncSession, ident: Identity, *, sla_seconds: int) -> Counts:
    """The console's badges, in one aggregate over the visible unresolved conversations."""
    cutoff = utcnow() - timedelta(seconds=sla_seconds)
    c = _visible(ident).where(Conversation.status != Status.resolved.value).subquery()
    is_open = c.c.status == Status.open.value

    def total(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = (
        await session.execute(
            select(
                total(is_open & (c.c.owner == Owner.queue.value)),
                total(
                    (c.c.owner == Owner.agent.value)
                    & (c.c.assignee_id == ident.user_id)
                    & c.c.status.in_(ACTIVE_STATUSES)
                ),
                total(c.c.owner == Owner.bot.value),
                total(is_open),
                total(is_open & (c.c.waiting_since < cutoff)),
            )
        )
    ).one()
    return Counts(*(int(x) for x in row))


async def search(
    session: AsyncSession, ident: Identity, q: str, *, limit: int = 30, sla_seconds: int
) -> list[SearchHit]:
    """Conversations whose contact, label or any message (notes included) contains `q`, newest first."""
    q = " ".join(q.split())
    if len(q) < 2:
        raise InvalidInput("search for at least 2 characters", code="query_too_short", field="q")
    size = max(1, min(limit, MAX_PAGE))
    visible = _visible(ident)
    by_contact = (
        await session.scalars(
            visible.where(
                or_(
                    Conversation.contact_name.icontains(q, autoescape=True),
                    Conversation.contact_email.icontains(q, autoescape=True),
                    Conversation.id.in_(
                        select(ConversationLabel.conversation_id).where(ConversationLabel.label == q.lower())
                    ),
                )
            )
            .order_by(Conversation.last_activity_at.desc())
            .limit(size)
        )
    ).all()
    visible_ids = visible.with_only_columns(Conversation.id)
    matches = (
        await session.execute(
            select(Message.conversation_id, func.max(Message.seq))
            .where(
                Message.body.icontains(q, autoescape=True),
                Message.conversation_id.in_(visible_ids),
            )
            .group_by(Message.conversation_id)
            .order_by(func.max(Message.id).desc())
            .limit(size)
        )
    ).all()
    hit_seq = {cid: int(seq) for cid, seq in matches}
    snippets: dict[int, str] = {}
    if hit_seq:
        for cid, seq, body in (
            await session.execute(
                select(Message.conversation_id, Message.seq, Message.body).where(
                    Message.conversation_id.in_(list(hit_seq)),
                    Message.seq.in_(list(set(hit_seq.values()))),
                )
            )
        ).all():
            if hit_seq.get(cid) == seq:
                snippets[cid] = _snippet(body, q)
    conversations = {c.id: c for c in by_contact}
    missing = [cid for cid in hit_seq if cid not in conversations]
    if missing:
        for c in (await session.scalars(select(Conversation).where(Conversation.id.in_(missing)))).all():
            conversations[c.id] = c
    ordered = sorted(conversations.values(), key=lambda c: c.last_activity_at, reverse=True)[:size]
    views = {v.id: v for v in await views_of(session, ordered, sla_seconds)}
    return [
        SearchHit(conversation=views[c.id], snippet=snippets.get(c.id, c.last_preview), seq=hit_seq.get(c.id))
        for c in ordered
    ]


def _snippet(body: str, q: str, width: int = 60) -> str:
    at = body.lower().find(q.lower())
    if at < 0:
        return body[: width * 2]
    start = max(0, at - width)
    end = min(len(body), at + len(q) + width)
    return ("…" if start else "") + body[start:end] + ("…" if end < len(body) else "")
