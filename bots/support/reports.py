"""How the bot does in chat, for the console: containment, handoff reasons, and the answers that did not help.

Containment = of the conversations the bot took part in that have ended, the share that ended with no
person involved (still bot-owned when resolved). Conversations still open are not counted either way.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Integer, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.support.models import BotAnswer
from engage.chat import Conversation, Owner, Status
from engage.platform.clock import utcnow


async def bot_report(session: AsyncSession, *, days: int = 30) -> dict[str, Any]:
    since = utcnow() - timedelta(days=days)
    engaged = (
        select(BotAnswer.conversation_id).where(BotAnswer.created_at >= since).distinct().scalar_subquery()
    )
    rows = (
        await session.execute(
            select(Conversation.status, Conversation.owner, func.count())
            .where(Conversation.id.in_(engaged))
            .group_by(Conversation.status, Conversation.owner)
        )
    ).all()
    conversations = sum(n for _, _, n in rows)
    resolved = sum(n for status, _, n in rows if status == Status.resolved.value)
    contained = sum(
        n for status, owner, n in rows if status == Status.resolved.value and owner == Owner.bot.value
    )
    with_people = sum(n for _, owner, n in rows if owner != Owner.bot.value)

    recent = BotAnswer.created_at >= since
    kind = func.coalesce(BotAnswer.intent, BotAnswer.kind)
    kinds = (await session.execute(select(kind, func.count()).where(recent).group_by(kind))).all()
    asked = func.sum(case((BotAnswer.asked_for_human, 1), else_=0)).cast(Integer)
    answers, asked_total = (await session.execute(select(func.count(), asked).where(recent))).one()
    reasons = (
        await session.execute(
            select(BotAnswer.handoff_reason, func.count())
            .where(recent, BotAnswer.handed_off, BotAnswer.handoff_reason.is_not(None))
            .group_by(BotAnswer.handoff_reason)
            .order_by(func.count().desc(), BotAnswer.handoff_reason)
            .limit(10)
        )
    ).all()
    articles = (
        await session.execute(
            select(BotAnswer.article_slug, func.count(), asked)
            .where(recent, BotAnswer.article_slug.is_not(None))
            .group_by(BotAnswer.article_slug)
            .order_by(func.count().desc(), BotAnswer.article_slug)
            .limit(10)
        )
    ).all()
    return {
        "days": days,
        "conversations": conversations,
        "resolved": resolved,
        "contained": contained,
        # None until a conversation the bot took part in has ended
        "containment_rate": round(contained / resolved, 4) if resolved else None,
        "handed_to_people": with_people,
        "answers": int(answers or 0),
        "answers_by_kind": {k: int(n) for k, n in sorted(kinds, key=lambda kn: (-kn[1], kn[0]))},
        "asked_for_human_after_answer": int(asked_total or 0),
        "handoff_reasons": [{"reason": r, "count": int(n)} for r, n in reasons],
        # the articles the bot answered with most, and how often the shopper then asked for a person
        "articles": [
            {"article_id": slug, "answers": int(n), "then_asked_for_human": int(a or 0)}
            for slug, n, a in articles
        ],
    }
