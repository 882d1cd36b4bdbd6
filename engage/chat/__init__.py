"""Live chat between shoppers, support agents and the support bot.

Public API for other areas (use these names only; the modules behind them may change):

Bot handoff contract (the bot area builds on it):
- A conversation starts **bot-owned** (`owner == "bot"`, status `pending`) when the bot area gives chat a
  `BotProfile(name=...)` (`ChatEnv.bot`, in engage/wiring.py); otherwise it starts in the human queue. `Conversation.owner` is "bot", "queue" (waiting for a human) or "agent".
- Event `BOT_TURN` ("chat.bot_turn", no channel) is recorded when the shopper posts in a bot-owned
  conversation: data `{"conversation_id", "message_id", "seq", "text", "owner_key", "user_id"}`. A SINK in
  workers/registry.py reacts to it (enqueue the bot's reply job). `CONVERSATION_STARTED` likewise
  (`{"conversation_id", "owner", "owner_key", "user_id"}`) lets the bot greet.
- `post_as_bot(session, env, conversation_id, text, client_id=..., meta=...)` posts as the bot through the same
  path agents use (stored, sequenced, published). `meta` may carry `{"articles": [{"title", "url"}],
  "suggestions": ["..."]}` (≤ 5 each; urls http(s) or site-relative) that the widget shows as links and
  quick replies. It raises `Conflict(code="not_bot_owned")` once a human has the conversation: the bot then
  stays quiet. `client_id` makes a retried job idempotent.
- `set_bot_typing(env, conversation_id, typing)`: the typing indicator for the bot.
- `hand_off(session, env, conversation_id, by="bot" | "shopper", reason=...)` moves it to the human queue
  with a reason (agents see the reason and everything the bot said), then dispatches it to an agent.
- `newest_unseen_reply(session, conversation)`: the newest public agent reply no widget of the shopper
  confirmed (push notices of replies).
- `conversation_transcript(session, conversation_id, after_seq=0)`: the stored items (bot context).
- `of_customer(session, user_id, email=...)`: a customer's conversations (the back office's customer page).
- `support_figures(session, since, until, sla_seconds=..., now=...)`: a period's support figures.
- `env` is `Services.chat` (a `ChatEnv`); a job gets the services from `ctx["services"]`.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from engage.chat.conversations import CustomerConversation, adopt_guest_conversations, hand_off, of_customer
from engage.chat.env import BotProfile, ChatEnv, ChatLimits
from engage.chat.events import (
    AGENTS,
    BOT_TURN,
    CONVERSATION_STARTED,
    HANDOFF,
    MESSAGE,
    RESOLVED,
    agent_reply,
    conversation_channel,
    staff_channel,
)
from engage.chat.indicators import typing
from engage.chat.messages import newest_unseen_reply, post_as_bot
from engage.chat.models import Author, Conversation, Owner, Status
from engage.chat.participants import Side
from engage.chat.reports import SupportFigures, support_figures
from engage.chat.timeline import replay_after
from engage.chat.views import Ack, MessageView


async def set_bot_typing(env: ChatEnv, conversation_id: int, is_typing: bool) -> None:
    profile = env.bot
    await typing(env, conversation_id, Author.bot, profile.name if profile else "Assistant", is_typing)


async def conversation_transcript(
    session: AsyncSession, conversation_id: int, *, after_seq: int = 0, limit: int = 200
) -> list[MessageView]:
    """Stored items of a conversation after `after_seq`, oldest first, as staff see them (notes included)."""
    items, _ = await replay_after(session, conversation_id, Side.staff, after_seq, limit=limit)
    return items


__all__ = [
    "AGENTS",
    "BOT_TURN",
    "CONVERSATION_STARTED",
    "HANDOFF",
    "MESSAGE",
    "RESOLVED",
    "Ack",
    "Author",
    "BotProfile",
    "ChatEnv",
    "ChatLimits",
    "Conversation",
    "CustomerConversation",
    "MessageView",
    "Owner",
    "Status",
    "SupportFigures",
    "adopt_guest_conversations",
    "agent_reply",
    "conversation_channel",
    "conversation_transcript",
    "hand_off",
    "newest_unseen_reply",
    "of_customer",
    "post_as_bot",
    "set_bot_typing",
    "staff_channel",
    "support_figures",
]
