"""The bot's turn in a chat conversation: read what the shopper said, decide, answer through the chat service.

One turn per shopper message (a job started by chat's `BOT_TURN` event). The bot speaks only while the
conversation is bot-owned, answers the shopper's latest words (several quick messages get one reply), and
hands the conversation to the agent queue with a reason when the shopper asks for a person, complains, stays
unclear after one clarifying question, accepts a person after an out-of-scope question, or when the answer
would take longer than the shopper should wait. Every reply is recorded (`BotAnswer`) with the passages used.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bots.support import intents, stock
from bots.support.bot import HANDOFF, Decision, Shopper, SupportBot
from bots.support.models import BotAnswer
from engage.chat import (
    ChatEnv,
    Conversation,
    Owner,
    Status,
    conversation_transcript,
    hand_off,
    post_as_bot,
    set_bot_typing,
)
from engage.platform.errors import Conflict

log = logging.getLogger("engage.bot")

TOO_SLOW = "Sorry, I'm taking too long to find that. I'm passing you to a member of our team now."
DECLINED = (
    "No problem. Is there anything about orders, delivery, returns, payments or your account I can help with?"
)
OFFER_REPLIES = ["Yes, connect me with a person", "No thanks"]
NOT_TOLD = "No problem. Is there anything else I can help with?"
CONTEXT_ITEMS = 40  # transcript items read for one turn
ORDER_CONTEXT_MESSAGES = 6  # shopper messages an order lookup may combine (number in one, email in another)


@dataclass(frozen=True)
class Turn:
    """The shopper's message the bot is asked to answer (chat's BOT_TURN event)."""

    conversation_id: int
    message_id: int
    seq: int


async def _previous_answer(session: AsyncSession, conversation_id: int) -> BotAnswer | None:
    return await session.scalar(
        select(BotAnswer)
        .where(BotAnswer.conversation_id == conversation_id)
        .order_by(BotAnswer.created_at.desc(), BotAnswer.id.desc())
        .limit(1)
    )


def _meta(decision: Decision) -> dict[str, Any]:
    if decision.reason == "out of scope":
        return {"suggestions": OFFER_REPLIES}
    if decision.offered_variant_id is not None:
        return {"suggestions": stock.NOTIFY_REPLIES}
    articles: dict[str, dict[str, str]] = {}
    for p in decision.passages:
        articles.setdefault(p["article_id"], {"title": p["title"], "url": p["url"]})
    if decision.clarifying:
        return {"articles": list(articles.values())[:2]}
    if decision.kind == "article":
        return {"articles": list(articles.values())[:1]}
    return {}


async def take_turn(
    session: AsyncSession, env: ChatEnv, bot: SupportBot, turn: Turn, *, reply_timeout: float
) -> BotAnswer | None:
    """Answer the shopper's latest words in a bot-owned conversation; None when the bot stays quiet."""
    conversation = await session.get(Conversation, turn.conversation_id)
    if (
        conversation is None
        or conversation.owner != Owner.bot.value
        or conversation.status == Status.resolved.value
    ):
        await session.commit()
        return None
    transcript = await conversation_transcript(
        session, turn.conversation_id, after_seq=max(0, turn.seq - CONTEXT_ITEMS), limit=CONTEXT_ITEMS * 2
    )
    said = [m for m in transcript if m.author == "shopper" and m.kind == "message" and not m.private]
    if any(m.seq > turn.seq for m in said):
        await session.commit()
        return None  # the shopper wrote again: that message's turn answers both
    last_bot = max((m.seq for m in transcript if m.author == "bot" and m.seq < turn.seq), default=0)
    text = " ".join(m.text for m in said if last_bot < m.seq <= turn.seq).strip()
    recent = " ".join(m.text for m in said[-ORDER_CONTEXT_MESSAGES:])
    previous = await _previous_answer(session, turn.conversation_id)
    shopper = Shopper(user_id=conversation.user_id, name=conversation.contact_name)
    await session.commit()  # nothing stays open while the model (or an LLM) works
    if not text:
        return None

    await set_bot_typing(env, turn.conversation_id, True)
    try:
        try:
            decision = await asyncio.wait_for(
                _decide(session, bot, text, recent, shopper, previous), timeout=reply_timeout
            )
        except TimeoutError:
            await session.rollback()
            decision = Decision("fallback", TOO_SLOW, handoff=True, reason="the bot could not answer in time")
        try:
            ack = await post_as_bot(
                session,
                env,
                turn.conversation_id,
                decision.answer,
                client_id=f"bot-reply:{turn.message_id}",
                meta=_meta(decision),
            )
        except Conflict:
            return None  # a person took the conversation meanwhile: the bot stays quiet
        if decision.handoff:
            await hand_off(session, env, turn.conversation_id, by="bot", reason=decision.reason or "")
    finally:
        await set_bot_typing(env, turn.conversation_id, False)
    return await _record(session, turn, ack.id, decision, previous)


async def _decide(
    session: AsyncSession,
    bot: SupportBot,
    text: str,
    recent: str,
    shopper: Shopper,
    previous: BotAnswer | None,
) -> Decision:
    if previous is not None and previous.offered_human:
        accepted = intents.answer_to_offer(text)
        if accepted is True:
            return Decision(
                "intent",
                HANDOFF,
                1.0,
                intent="human",
                handoff=True,
                reason="out of scope; the shopper accepted a person",
            )
        if accepted is False:
            return Decision("fallback", DECLINED, 1.0, reason="declined a person")
    if previous is not None and previous.offered_variant_id is not None:
        accepted = intents.answer_to_offer(text)
        if accepted is True:
            told = await stock.notify(session, shopper.user_id, previous.offered_variant_id)
            return Decision("intent", told, 1.0, intent="stock")
        if accepted is False:
            return Decision("intent", NOT_TOLD, 1.0, intent="stock")
    detected = intents.detect(text)
    if (
        detected is None
        and previous is not None
        and previous.intent == "order_status"
        and (intents.order_reference(text) or intents.email_in(text))
    ):
        return await bot.order_status(session, shopper, recent)  # the number or email the bot asked for
    return await bot.decide(
        session,
        text,
        shopper=shopper,
        unsure_before=previous is not None and previous.clarifying,
        context=recent,
    )


def _compact(passages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"id": p["id"], "article_id": p["article_id"], "position": p["position"], "score": p["score"]}
        for p in passages
    ]


async def _record(
    session: AsyncSession, turn: Turn, message_id: int, decision: Decision, previous: BotAnswer | None
) -> BotAnswer | None:
    if previous is not None and decision.intent == "human":
        # the shopper's answer to the bot's previous reply was to ask for a person
        await session.execute(
            update(BotAnswer).where(BotAnswer.id == previous.id).values(asked_for_human=True)
        )
    answer = BotAnswer(
        conversation_id=turn.conversation_id,
        shopper_message_id=turn.message_id,
        message_id=message_id,
        kind=decision.kind,
        intent=decision.intent,
        article_slug=decision.article_id,
        confidence=round(decision.confidence, 4),
        passages=_compact(decision.passages),
        clarifying=decision.clarifying,
        offered_human=decision.reason == "out of scope",
        offered_variant_id=decision.offered_variant_id,
        handed_off=decision.handoff,
        handoff_reason=(decision.reason or "")[:300] if decision.handoff else None,
    )
    session.add(answer)
    try:
        await session.commit()
    except IntegrityError:  # a retried job: this turn is recorded already
        await session.rollback()
        return None
    return answer


async def shopper_asked_for_a_person(session: AsyncSession, conversation_id: int) -> None:
    """The shopper handed the conversation to a person themselves (the widget's button): the bot's last
    answer did not help. Commits."""
    previous = await _previous_answer(session, conversation_id)
    if previous is not None and not previous.handed_off:
        previous.asked_for_human = True
    await session.commit()
