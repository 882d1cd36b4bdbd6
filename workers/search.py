"""Search jobs: drain the indexing backlog, find what was missed, keep every process's index fresh."""

from __future__ import annotations

from typing import Any

from bots.draining import Kicker
from bots.search import backlog
from bots.search.indexing import INDEXED_EVENT, drain_backlog, reconcile
from bots.search.live import announce, refresh_products
from engage.platform.events import DomainEvent, Sink
from engage.platform.runtime import Runtime

INDEX_TASK = "index_search_backlog"


async def index_search_backlog(ctx: dict[str, Any], holder: str) -> dict[str, int]:
    """The one indexer: batches of changed products until none are left (`holder` holds its lease)."""
    runtime: Runtime = ctx["runtime"]
    search = runtime.services["search"]
    report = await drain_backlog(runtime.sessionmaker, search.embedder, search.lexicon, holder)
    return {"seen": report.seen, "embedded": report.embedded, "removed": report.removed}


async def kick_indexer(runtime: Runtime) -> bool:
    kicker: Kicker = runtime.services["drains"]
    return await kicker.kick(backlog.LEASE, INDEX_TASK)


async def sweep_search_backlog(ctx: dict[str, Any]) -> None:
    """A backlog with no indexer (left by a command, or by one that stopped) gets one."""
    runtime: Runtime = ctx["runtime"]
    async with runtime.sessionmaker() as session:
        waiting = await backlog.waiting(session)
        await session.commit()
    if waiting:
        await kick_indexer(runtime)


async def catch_up_in_memory(ctx: dict[str, Any]) -> None:
    """This process's search index and knowledge base re-read what another process indexed without telling
    it (embedded: `engage reindex` or an import from the command line while the server runs)."""
    runtime: Runtime = ctx["runtime"]
    async with runtime.sessionmaker() as session:
        await runtime.services["search"].index.catch_up(session)
        await runtime.services["bot"].knowledge.catch_up(session)
        await session.commit()


async def reconcile_search_index(ctx: dict[str, Any], force: bool = False) -> int:
    """At start and hourly: products whose index is missing or stale (a change this process never heard
    of) join the backlog. `force`: every product is embedded again."""
    runtime: Runtime = ctx["runtime"]
    async with runtime.sessionmaker() as session:
        marked = await reconcile(session, runtime.services["search"].embedder.model_name, force=force)
    if marked or force:
        await kick_indexer(runtime)
    return marked


async def reindex_catalog(ctx: dict[str, Any]) -> int:
    """An admin asked for a full re-index (POST /api/search/reindex)."""
    return await reconcile_search_index(ctx, force=True)


def search_sink(runtime: Runtime) -> Sink:
    """`product.changed` -> the backlog, and an indexer if none runs; `search.indexed` -> refresh here and
    tell the other processes."""
    changes = runtime.services["search_changes"] = backlog.ChangeCollector(
        runtime.sessionmaker, lambda: kick_indexer(runtime)
    )

    async def sink(events: list[DomainEvent]) -> None:
        changed = {
            int(e.data["product_id"])
            for e in events
            if e.type == "product.changed" and "product_id" in e.data
        }
        if changed:
            changes.add(changed)  # written and kicked in the background: the publisher never waits
        indexed = sorted({int(i) for e in events if e.type == INDEXED_EVENT for i in e.data["product_ids"]})
        if indexed:
            await refresh_products(runtime.services["search"], indexed)
            await announce(runtime, product_ids=indexed)

    return sink
