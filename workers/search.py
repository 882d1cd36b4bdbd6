"""Search jobs: drain the indexing backlog, find what was missed, keep every process's index fresh."""

from __future__ import annotations

from typing import Any

from bots.search import backlog
from bots.search.indexing import INDEXED_EVENT, drain_backlog, reconcile
from bots.search.live import refresh_products
from bots.wiring import Bots
from commerce.catalog.events import ProductChanged
from engage.platform.events import DomainEvent, Sink
from engage.services import Services


async def index_search_backlog(ctx: dict[str, Any], holder: str) -> dict[str, int]:
    """The one indexer: batches of changed products until none are left (`holder` holds its lease)."""
    services: Services = ctx["services"]
    search = services.bots.search
    report = await drain_backlog(services.sessionmaker, search.embedder, search.lexicon, holder)
    return {"seen": report.seen, "embedded": report.embedded, "removed": report.removed}


async def kick_indexer(bots: Bots) -> bool:
    return await bots.drains.kick(backlog.LEASE, backlog.INDEX_TASK)


async def sweep_search_backlog(ctx: dict[str, Any]) -> None:
    """A backlog with no indexer (left by a command, or by one that stopped) gets one."""
    services: Services = ctx["services"]
    async with services.sessionmaker() as session:
        waiting = await backlog.waiting(session)
        await session.commit()
    if waiting:
        await kick_indexer(services.bots)


async def catch_up_in_memory(ctx: dict[str, Any]) -> None:
    """This process's search index and knowledge base re-read what another process indexed without telling
    it (embedded: `engage reindex` or an import from the command line while the server runs)."""
    services: Services = ctx["services"]
    async with services.sessionmaker() as session:
        await services.bots.search.index.catch_up(session)
        await services.bots.bot.knowledge.catch_up(session)
        await session.commit()


async def reconcile_search_index(ctx: dict[str, Any], force: bool = False) -> int:
    """At start and hourly: products whose index is missing or stale (a change this process never heard
    of) join the backlog. `force`: every product is embedded again."""
    services: Services = ctx["services"]
    async with services.sessionmaker() as session:
        marked = await reconcile(session, services.bots.embedder.model_name, force=force)
    if marked or force:
        await kick_indexer(services.bots)
    return marked


async def reindex_catalog(ctx: dict[str, Any]) -> int:
    """An admin asked for a full re-index (POST /api/search/reindex)."""
    return await reconcile_search_index(ctx, force=True)


def search_sink(services: Services) -> Sink:
    """`product.changed` -> the backlog, and an indexer if none runs; `search.indexed` -> refresh here and
    tell the other processes."""
    bots = services.bots

    async def sink(events: list[DomainEvent]) -> None:
        changed = {int(e.data["product_id"]) for e in events if e.type == ProductChanged.type}
        if changed:
            bots.changes.add(changed)  # written and kicked in the background: the publisher never waits
        indexed = sorted({int(i) for e in events if e.type == INDEXED_EVENT for i in e.data["product_ids"]})
        if indexed:
            await refresh_products(bots.search, indexed)
            await bots.notes.announce(product_ids=indexed)

    return sink
