"""One drainer per backlog, across every process: a lease row, taken by whoever kicks, renewed per batch.

A backlog (products to index, help passages to embed) is durable work in the database. Whoever adds to it
kicks: if it can take the backlog's lease it enqueues the draining job, otherwise the holder is draining
already and will see the new work. The drainer releases the lease when the backlog looks empty, then looks
again: work that arrived in between is either seen there (and the drainer takes the lease back) or its
kicker found the lease free and started a new drainer. Nothing is stranded, and bursts of changes make one
job, not one job per change. A crashed drainer's lease expires; the periodic sweep kicks again.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from engage.platform.clock import utcnow
from engage.platform.db import Base, insert_for, rows_matched

# Far longer than one batch takes (64 products: ~10 s on 2 busy cores), short enough that a crashed
# drainer's backlog waits only minutes for the sweep.
LEASE_SECONDS = 300


class DrainLease(Base):
    """Who drains a backlog now, until when (absent: nobody)."""

    __tablename__ = "bot_drain_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(40))
    expires_at: Mapped[datetime]


def new_holder() -> str:
    return uuid.uuid4().hex


async def take(session: AsyncSession, name: str, holder: str) -> bool:
    """Take the lease if nobody holds it (or the holder's time ran out). Does not commit."""
    now = utcnow()
    insert = insert_for(session)
    stmt = insert(DrainLease).values(
        name=name, holder=holder, expires_at=now + timedelta(seconds=LEASE_SECONDS)
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
        where=DrainLease.expires_at < now,
    ).returning(DrainLease.holder)
    taken: str | None = await session.scalar(upsert)
    return taken == holder


async def renew(session: AsyncSession, name: str, holder: str) -> bool:
    """Still ours? Then it runs for another LEASE_SECONDS. Does not commit."""
    result = await session.execute(
        update(DrainLease)
        .where(DrainLease.name == name, DrainLease.holder == holder)
        .values(expires_at=utcnow() + timedelta(seconds=LEASE_SECONDS))
    )
    return bool(rows_matched(result))


async def release(session: AsyncSession, name: str, holder: str) -> None:
    await session.execute(delete(DrainLease).where(DrainLease.name == name, DrainLease.holder == holder))


Enqueue = Callable[[str], Awaitable[Any]]  # holder -> queue the draining job with that holder


async def kick(sessionmaker: async_sessionmaker[AsyncSession], name: str, enqueue: Enqueue) -> bool:
    """Start a drainer unless one runs. True when this call started one."""
    holder = new_holder()
    async with sessionmaker() as session:
        taken = await take(session, name, holder)
        await session.commit()
    if not taken:
        return False
    try:
        await enqueue(holder)
    except BaseException:
        async with sessionmaker() as session:
            await release(session, name, holder)
            await session.commit()
        raise
    return True


Step = Callable[[], Awaitable[bool]]  # one batch; False when there was nothing to do
Waiting = Callable[[AsyncSession], Awaitable[bool]]  # is there work in the backlog?


async def drain(
    sessionmaker: async_sessionmaker[AsyncSession], name: str, holder: str, step: Step, waiting: Waiting
) -> None:
    """Run `step` until the backlog is empty, for as long as `holder` holds the lease."""
    while True:
        async with sessionmaker() as session:
            ours = await renew(session, name, holder)
            await session.commit()
        if not ours:
            return  # it expired and another drainer took over
        if await step():
            continue
        async with sessionmaker() as session:
            await release(session, name, holder)
            await session.commit()
        async with sessionmaker() as session:
            more = await waiting(session) and await take(session, name, holder)
            await session.commit()
        if not more:
            return


class Kicker:
    """Starts drainers through the process's job queue (`Bots.drains`).

    A short-lived command in embedded mode runs jobs in its own process, so a bulk import would wait for
    the model there; `defer()` leaves its backlogs to the server, whose sweep finds them. With a shared
    queue (arq) kicking only enqueues, and the worker drains.
    """

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], jobs: Any, *, in_process: bool
    ) -> None:
        self.sessionmaker = sessionmaker
        self.jobs = jobs
        self.in_process = in_process
        self.deferred = False

    def defer(self) -> None:
        self.deferred = True

    async def kick(self, name: str, task: str) -> bool:
        if self.deferred and self.in_process:
            return False
        return await kick(self.sessionmaker, name, lambda holder: self.jobs.enqueue(task, holder))
