"""Products waiting to be indexed: marked when they change, taken oldest first in bounded batches.

Marks are durable (a table), so a change is indexed even if the process that saw it stops, and a bulk
import from the command line can leave the work to the server or worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bots.search.models import IndexBacklog, SearchDocument
from engage.platform.clock import utcnow
from engage.platform.db import insert_for

log = logging.getLogger("engage.search")

LEASE = "search.products"  # bots.draining lease of the product indexer
INDEX_TASK = "index_search_backlog"  # the job that drains it (workers/search.py)
MARK_CHUNK = 1000  # rows per INSERT (SQLite allows 32,766 bound parameters per statement)

Taken = list[tuple[int, int]]  # (product id, generation)


async def mark(session: AsyncSession, product_ids: Iterable[int]) -> int:
    """Queue these products for indexing (again). Does not commit."""
    ids = sorted(set(product_ids))
    insert = insert_for(session)
    now = utcnow()
    for start in range(0, len(ids), MARK_CHUNK):
        stmt = insert(IndexBacklog).values(
            [
                {"product_id": pid, "generation": 1, "marked_at": now}
                for pid in ids[start : start + MARK_CHUNK]
            ]
        )
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["product_id"],
                set_={"generation": IndexBacklog.generation + 1, "marked_at": stmt.excluded.marked_at},
            )
        )
    return len(ids)


async def take(session: AsyncSession, limit: int) -> Taken:
    """The oldest marks (they stay until `settle`: a crash mid-batch loses nothing)."""
    rows = await session.execute(
        select(IndexBacklog.product_id, IndexBacklog.generation)
        .order_by(IndexBacklog.marked_at, IndexBacklog.product_id)
        .limit(limit)
    )
    return [(int(pid), int(gen)) for pid, gen in rows]


async def settle(session: AsyncSession, taken: Sequence[tuple[int, int]]) -> None:
    """Drop the marks that were handled; a product marked again meanwhile keeps its newer mark."""
    if taken:
        await session.execute(
            delete(IndexBacklog).where(
                or_(
                    *(
                        and_(IndexBacklog.product_id == pid, IndexBacklog.generation == gen)
                        for pid, gen in taken
                    )
                )
            )
        )


async def without_document(session: AsyncSession, after: int, limit: int) -> list[int]:
    """Marked products with no lexical document yet, by id, after `after` (a new catalog's products)."""
    rows = await session.scalars(
        select(IndexBacklog.product_id)
        .where(
            IndexBacklog.product_id > after,
            ~select(SearchDocument.product_id)
            .where(SearchDocument.product_id == IndexBacklog.product_id)
            .exists(),
        )
        .order_by(IndexBacklog.product_id)
        .limit(limit)
    )
    return [int(pid) for pid in rows]


async def waiting(session: AsyncSession) -> bool:
    return await session.scalar(select(IndexBacklog.product_id).limit(1)) is not None


async def size(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(IndexBacklog)) or 0)


class ChangeCollector:
    """Products named by change events, written to the backlog by one background task.

    The event publisher hands every sink its events in turn, so a sink must not wait on the database: the
    search sink only adds ids here. Changes that arrive while a write is under way go out together in the
    next one, and each write is followed by a kick of the indexer. On shutdown what is left is written
    (the next start's sweep indexes it).
    """

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], kick: Callable[[], Awaitable[object]]
    ) -> None:
        self._sessionmaker = sessionmaker
        self._kick = kick
        self._ids: set[int] = set()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def add(self, product_ids: Iterable[int]) -> None:
        self._ids.update(product_ids)
        if self._ids and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._write(), name="search-backlog-marks")

    async def _write(self) -> None:
        while self._ids:
            ids, self._ids = self._ids, set()
            try:
                async with self._sessionmaker() as session:
                    await mark(session, ids)
                    await session.commit()
            except Exception:
                log.exception("could not mark %d products for indexing (the hourly reconcile will)", len(ids))
                continue
            if not self._closing:
                try:
                    await self._kick()
                except Exception:
                    log.exception("could not start the indexer (the sweep will)")

    async def flush(self) -> None:
        """Wait until every id added so far is in the backlog (and the indexer kicked)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def aclose(self) -> None:
        self._closing = True
        await self.flush()
