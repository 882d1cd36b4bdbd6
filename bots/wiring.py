"""The bots' process-wide services, built by engage/wiring.py for the web app, the worker and the CLI."""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bots.draining import Kicker
from bots.embeddings import Embedder
from bots.search import backlog
from bots.search.live import IndexNotes
from bots.search.service import SearchService
from bots.search.setup import install as install_search
from bots.support.bot import SupportBot
from bots.support.llm import GroundedAnswerer
from bots.support.setup import install as install_support
from bots.support.setup import make_answerer
from engage.chat import BotProfile
from engage.platform.runtime import Runtime

log = logging.getLogger("engage.search")


@dataclass(slots=True)
class Bots:
    embedder: Embedder  # one model per process, shared by search and the bot
    drains: Kicker
    search: SearchService
    bot: SupportBot
    llm: GroundedAnswerer | None
    notes: IndexNotes
    changes: backlog.ChangeCollector  # products named by change events, on their way to the indexing backlog
    chat_profile: BotProfile | None  # set: new chat conversations start with the bot

    async def aclose(self) -> None:
        await self.changes.aclose()
        if self.llm is not None:
            await self.llm.aclose()
        await self.embedder.aclose()


async def load_indexes(bots: Bots) -> None:
    """The search index and the knowledge base, in the background at start (the first request tries again)."""
    try:
        async with bots.search.sessionmaker() as session:
            await bots.search.index.ensure_loaded(session)
            await session.commit()
        async with bots.bot.sessionmaker() as session:
            await bots.bot.knowledge.ensure_loaded(session)
            await session.commit()
    except Exception:
        log.exception("could not load the search index at start")
    try:
        await bots.bot.warm_up()  # the intent examples' vectors, once the model is there
    except Exception:
        log.exception("could not embed the bot's intent examples at start")


def background_work(bots: Bots) -> list[Coroutine[Any, Any, None]]:
    """What a web process runs beside its requests: nothing here makes the server wait. /ready answers
    while the model loads in its thread and the indexes load; the backlog's drainer fills them in."""
    bots.embedder.warm_up()  # returns at once
    return [load_indexes(bots), bots.notes.follow(bots.search, bots.bot)]


def install(runtime: Runtime) -> Bots:
    settings = runtime.settings
    embedder = Embedder(settings.embedding_model, threads=settings.embedding_threads)
    llm = make_answerer(settings)
    drains = Kicker(runtime.sessionmaker, runtime.jobs, in_process=runtime.redis is None)
    search = install_search(runtime, embedder)

    async def find_products(session: AsyncSession, text: str) -> list[str]:
        """The bot's way to a product a shopper names: the shop's own search, its best matches."""
        found = await search.search(session, text, limit=3)
        return [] if found.no_match else [hit.card.handle for hit in found.items]

    return Bots(
        embedder=embedder,
        drains=drains,
        search=search,
        bot=install_support(runtime, embedder, llm, find_products=find_products),
        llm=llm,
        notes=IndexNotes(runtime.redis, settings.redis_prefix),
        changes=backlog.ChangeCollector(
            runtime.sessionmaker, lambda: drains.kick(backlog.LEASE, backlog.INDEX_TASK)
        ),
        chat_profile=BotProfile(name=settings.bot_name) if settings.bot_in_chat else None,
    )


def leave_indexing_to_server(bots: Bots) -> None:
    """For commands that change the catalog or the help centre in bulk: don't embed here.

    Embedded, the changes wait in the backlogs for `engage serve` (its sweep, within 30 s, or its next
    start); with Redis the worker drains them as usual. `engage reindex` drains them at once.
    """
    bots.drains.defer()
