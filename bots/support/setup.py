"""Building the support bot of a process from its runtime (called by bots/wiring.py)."""

from __future__ import annotations

from bots.embeddings import Embedder
from bots.support import orders
from bots.support.bot import OrderStatus, SupportBot
from bots.support.knowledge import KnowledgeBase
from bots.support.llm import GroundedAnswerer
from bots.support.stock import Finder
from engage.config import Settings
from engage.platform.runtime import Runtime


def make_answerer(settings: Settings) -> GroundedAnswerer | None:
    """The LLM that writes answers from the passages, when one is configured."""
    if not (settings.llm_base_url and settings.llm_model):
        return None
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
    # the LLM must leave time for the rest of the reply within the shopper's limit
    timeout = min(settings.llm_timeout_seconds, max(0.5, settings.bot_reply_timeout_seconds - 1.0))
    return GroundedAnswerer(
        base_url=settings.llm_base_url, api_key=key, model=settings.llm_model, timeout=timeout
    )


def install(
    runtime: Runtime,
    embedder: Embedder,
    answerer: GroundedAnswerer | None,
    order_status: OrderStatus | None = None,
    *,
    find_products: Finder | None = None,
) -> SupportBot:
    return SupportBot(
        knowledge=KnowledgeBase(runtime.settings.embedding_model),
        embedder=embedder,
        sessionmaker=runtime.sessionmaker,
        answerer=answerer,
        order_status=order_status or orders.answer,
        find_products=find_products,
        currency=runtime.settings.currency,
    )
