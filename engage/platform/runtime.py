"""The runtime: every shared client of one process, chosen once from settings.

The web app, `engage worker` and the CLI build the same Runtime; only the backends differ by mode.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from litestar.channels.backends.base import ChannelsBackend
from litestar.stores.base import Store
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from engage.config import Settings
from engage.platform.channels import make_channels_backend
from engage.platform.counters import WindowCounter, make_counter
from engage.platform.db import make_engine, make_sessionmaker
from engage.platform.events import EventPublisher, attach
from engage.platform.jobs import ArqJobQueue, CronTask, InProcessJobQueue, JobQueue, Task
from engage.platform.redis import arq_redis_settings, make_redis, persistence
from engage.platform.stores import make_stores

log = logging.getLogger("engage.runtime")


class Closeable(Protocol):
    async def aclose(self) -> None: ...


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis | None
    stores: dict[str, Store]
    channels: ChannelsBackend
    publisher: EventPublisher
    jobs: JobQueue
    counter: WindowCounter
    # what jobs get as `ctx` (arq's convention); the assembly adds the domains' services to it
    job_context: dict[str, Any] = field(default_factory=dict)
    # domain services to close at stop, after jobs and events, before the clients they use go
    closing: list[Closeable] = field(default_factory=list)
    _started: bool = False

    @property
    def queue_name(self) -> str:
        return queue_name(self.settings)

    async def start(self, *, with_channels: bool = True) -> None:
        """`with_channels=False` when Litestar's Channels plugin owns the backend's lifecycle."""
        if self._started:
            return
        if with_channels:
            await self.channels.on_startup()
        await self.publisher.start()
        await self.jobs.start()
        if self.redis is not None and await persistence(self.redis) == "none":
            log.warning("Redis keeps nothing on disk: a restart signs every shopper out (docs/deployment.md)")
        self._started = True

    async def stop(self, *, with_channels: bool = True) -> None:
        if not self._started:
            return
        await self.jobs.stop()
        await self.publisher.stop()
        if with_channels:
            await self.channels.on_shutdown()
        for closeable in reversed(self.closing):
            await closeable.aclose()
        await self.engine.dispose()
        if self.redis is not None:
            await self.redis.aclose()
        self._started = False


def queue_name(settings: Settings) -> str:
    return f"{settings.redis_prefix}:jobs"


def build_runtime(
    settings: Settings,
    *,
    tasks: Sequence[Task] = (),
    cron: Sequence[CronTask] = (),
    run_cron: bool = True,
) -> Runtime:
    """Assemble one process's kernel: `tasks`/`cron` are what the in-process runner may run embedded."""
    redis = make_redis(settings.redis_url, max_connections=settings.redis_max_connections)
    engine = make_engine(settings.db_url, pool_size=settings.db_pool_size, echo=settings.db_echo)
    publisher = EventPublisher(check=settings.env == "test")
    ctx: dict[str, Any] = {}
    jobs: JobQueue
    if redis is None:
        jobs = InProcessJobQueue(tasks, cron, ctx, run_cron=run_cron)
    else:
        jobs = ArqJobQueue(arq_redis_settings(settings.redis_url), queue_name(settings))
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessionmaker=make_sessionmaker(engine, **attach(publisher)),
        redis=redis,
        stores=make_stores(redis, settings.redis_prefix),
        channels=make_channels_backend(
            redis,
            prefix=settings.redis_prefix,
            history=settings.channel_history,
            history_seconds=settings.channel_history_seconds,
        ),
        publisher=publisher,
        jobs=jobs,
        counter=make_counter(redis, settings.redis_prefix),
        job_context=ctx,
    )
    ctx["runtime"] = runtime
    return runtime
