"""Building the support bot of a process from its runtime (called by bots/wiring.py)."""

from __future__ import annotations

from bots.search.setup import embedder_of
from bots.support import orders
from bots.support.bot import OrderStatus, SupportBot
from bots.support.knowledge import KnowledgeBase
from bots.support.llm import GroundedAnswerer
from engage.chat import BotProfile
from engage.platform.runtime import Runtime


def install(runtime: Runtime, order_status: OrderStatus | None = None) -> SupportBot:
    """The process's bot (runtime.services["bot"]); in chat too unless ENGAGE_BOT_IN_CHAT is false."""
    settings = runtime.settings
    answerer = None
    if settings.llm_base_url and settings.llm_model:
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
        # the LLM must leave time for the rest of the reply within the shopper's limit
        timeout = min(settings.llm_timeout_seconds, max(0.5, settings.bot_reply_timeout_seconds - 1.0))
        answerer = GroundedAnswerer(
            base_url=settings.llm_base_url, api_key=key, model=settings.llm_model, timeout=timeout
        )
        runtime.services["llm"] = answerer
    bot = SupportBot(
        knowledge=KnowledgeBase(settings.embedding_model),
        embedder=embedder_of(runtime),
        sessionmaker=runtime.sessionmaker,
        answerer=answerer,
        order_status=order_status or orders.answer,
    )
    runtime.services["bot"] = bot
    if settings.bot_in_chat:  # new chat conversations start with the bot (engage/chat's handoff contract)
        runtime.services["chat_bot"] = BotProfile(name=settings.bot_name)
    return bot
