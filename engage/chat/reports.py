"""Support figures for a period: conversations, answer and resolution times, SLA breaches, what the bot
kept and why it handed over (the back office's analytics)."""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.chat.csat import CsatSummary
from engage.chat.csat import summary as csat_summary
from engage.chat.models import Conversation, Owner
from engage.platform.clock import as_utc


class HandoffReason(msgspec.Struct):
    reason: str
    conversations: int


class SupportFigures(msgspec.Struct):
    conversations: int  # started in the period
    resolved: int
    answered_by_people: int
    median_first_response_seconds: int | None  # from start to a person's first answer
    median_resolution_seconds: int | None
    sla_breaches: int  # a person's first answer came later than the target, or never and it is overdue
    bot_contained: int  # ended with the bot, never handed over
    handoffs: list[HandoffReason]
    csat: CsatSummary  # ratings given in the period


def _median(values: list[float]) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return round(ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2)


async def support_figures(
    session: AsyncSession, since: datetime, until: datetime, *, sla_seconds: int, now: datetime
) -> SupportFigures:
    rows = (
        await session.execute(
            select(
                Conversation.created_at,
                Conversation.first_response_at,
                Conversation.resolved_at,
                Conversation.owner,
                Conversation.handoff_reason,
                Conversation.waiting_since,
            ).where(Conversation.created_at >= since, Conversation.created_at < until)
        )
    ).all()
    first, resolution, breaches, contained = [], [], 0, 0
    for created, answered, resolved, owner, reason, waiting in rows:
        created = as_utc(created)
        if answered is not None:
            first.append((as_utc(answered) - created).total_seconds())
            breaches += (as_utc(answered) - created).total_seconds() > sla_seconds
        elif waiting is not None and (now - as_utc(waiting)).total_seconds() > sla_seconds:
            breaches += 1
        if resolved is not None:
            resolution.append((as_utc(resolved) - created).total_seconds())
        contained += owner == Owner.bot.value and not reason
    reasons = await session.execute(
        select(Conversation.handoff_reason, func.count())
        .where(
            Conversation.created_at >= since,
            Conversation.created_at < until,
            Conversation.handoff_reason != "",
        )
        .group_by(Conversation.handoff_reason)
        .order_by(func.count().desc())
        .limit(10)
    )
    return SupportFigures(
        conversations=len(rows),
        resolved=len(resolution),
        answered_by_people=len(first),
        median_first_response_seconds=_median(first),
        median_resolution_seconds=_median(resolution),
        sla_breaches=int(breaches),
        bot_contained=contained,
        handoffs=[HandoffReason(reason, int(n)) for reason, n in reasons],
        csat=await csat_summary(session, since=since, until=until),
    )
