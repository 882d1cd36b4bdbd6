"""Keeping every process's in-memory indexes fresh: index events, fanned out between processes.

The process that commits a change refreshes itself (an event sink) and publishes a note; every other web
process follows the notes and refreshes what they name. Notes are process-to-process signals, not shopper
events, so they go over plain Redis pub/sub (embedded mode is one process: nothing to tell). A follower
that lost its connection may have missed notes: it reloads everything when it is back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis

if TYPE_CHECKING:
    from bots.search.service import SearchService
    from bots.support import SupportBot

log = logging.getLogger("engage.search")

RECONNECT_SECONDS = (0.5, 1, 2, 5, 10)


async def refresh_products(search: SearchService, product_ids: Sequence[int]) -> None:
    if not product_ids:
        return
    if not search.index.loaded:
        await search.index.refresh(None, product_ids)  # remembered if the first load is under way
        return
    async with search.sessionmaker() as session:
        await search.index.refresh(session, product_ids)
        await session.commit()


async def refresh_help(bot: SupportBot) -> None:
    if not bot.knowledge.loaded:
        bot.knowledge.changed_while_loading()
        return
    async with bot.sessionmaker() as session:
        await bot.knowledge.load(session)
        await session.commit()


async def refresh_synonyms(search: SearchService) -> None:
    """The merchant changed a synonym (in this process or another): read them again."""
    async with search.sessionmaker() as session:
        await search.reload_synonyms(session)
        await session.commit()


async def _reload_all(search: SearchService, bot: SupportBot) -> None:
    if search.index.loaded:
        async with search.sessionmaker() as session:
            await search.index.load(session)
            await search.reload_synonyms(session)
            await session.commit()
    await refresh_help(bot)


class IndexNotes:
    """Notes between the processes of one deployment (production: they share Redis; embedded: none)."""

    def __init__(self, redis: Redis | None, prefix: str) -> None:
        self.redis = redis
        # {"from", "product_ids"}, {"from", "help": true} or {"from", "synonyms": true}
        self.channel = f"{prefix}:bots:index"
        self.origin = uuid.uuid4().hex  # this process's notes: it refreshed itself already, so it skips them

    async def announce(self, **content: Any) -> None:
        if self.redis is None:
            return
        try:
            await self.redis.publish(self.channel, json.dumps({"from": self.origin, **content}))
        except Exception:  # they catch up when their connection comes back, or at the hourly reconcile
            log.warning("could not announce an index update", exc_info=True)

    async def follow(self, search: SearchService, bot: SupportBot) -> None:
        """Apply other processes' notes to this process's indexes (runs until cancelled)."""
        if self.redis is None:
            return
        failures = 0
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                if failures:
                    await _reload_all(search, bot)  # notes may have been missed while disconnected
                failures = 0
                async for raw in pubsub.listen():
                    try:
                        message = json.loads(raw["data"])
                        if message.get("from") == self.origin:
                            continue
                        if message.get("product_ids"):
                            await refresh_products(search, [int(i) for i in message["product_ids"]])
                        if message.get("help"):
                            await refresh_help(bot)
                        if message.get("synonyms"):
                            await refresh_synonyms(search)
                    except Exception:
                        log.exception("could not apply an index update")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # also when the process shuts down and closes its Redis connections
                log.info("index updates: connection lost (%s); reconnecting", type(exc).__name__)
                await asyncio.sleep(RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)])
                failures += 1
            finally:
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
