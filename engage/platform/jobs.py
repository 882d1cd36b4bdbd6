"""The job queue port: arq in production, an in-process runner embedded. Both call the same task functions.

A task is a plain `async def task(ctx, *args, **kwargs)` (arq's convention); `ctx` holds the shared clients
(`ctx["runtime"]`). Periodic tasks are `CronTask`s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("engage.jobs")

Task = Callable[..., Coroutine[Any, Any, Any]]  # an `async def` taking ctx first (what arq runs)


@dataclass(frozen=True)
class CronTask:
    """Runs `task` every `every_seconds` (arq cron in production, a timer loop embedded)."""

    task: Task
    every_seconds: int
    run_at_startup: bool = False

    @property
    def name(self) -> str:
        return self.task.__name__


class JobQueue(Protocol):
    async def enqueue(
        self, task: str, *args: Any, job_id: str | None = None, defer_seconds: float = 0, **kwargs: Any
    ) -> None:
        """Run `task(ctx, *args, **kwargs)` once (per `job_id` while it is queued or running), no sooner than
        `defer_seconds` from now."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class InProcessJobQueue:
    """Runs jobs as tasks of this event loop, at most `concurrency` at a time; runs cron tasks on timers."""

    def __init__(
        self,
        tasks: Sequence[Task],
        cron: Sequence[CronTask],
        ctx: dict[str, Any],
        *,
        concurrency: int = 4,
        run_cron: bool = True,
    ) -> None:
        self._tasks = {t.__name__: t for t in tasks}
        self._cron = list(cron) if run_cron else []
        self._ctx = ctx
        self._limit = asyncio.Semaphore(concurrency)
        self._running: set[asyncio.Task[Any]] = set()
        self._deferred: set[asyncio.Task[Any]] = set()  # still waiting out their delay
        self._timers: list[asyncio.Task[None]] = []
        self._job_ids: set[str] = set()

    async def enqueue(
        self, task: str, *args: Any, job_id: str | None = None, defer_seconds: float = 0, **kwargs: Any
    ) -> None:
        fn = self._tasks.get(task)
        if fn is None:
            raise LookupError(f"unknown task {task!r}")
        if job_id is not None:
            if job_id in self._job_ids:
                return  # same semantics as arq: one job per id while it is queued or running
            self._job_ids.add(job_id)
        job = asyncio.create_task(self._run(fn, args, kwargs, job_id, defer_seconds), name=f"job:{task}")
        self._running.add(job)
        job.add_done_callback(self._running.discard)

    async def _run(
        self, fn: Task, args: tuple[Any, ...], kwargs: dict[str, Any], job_id: str | None, defer: float = 0
    ) -> None:
        try:
            if defer > 0:
                current = asyncio.current_task()
                assert current is not None
                self._deferred.add(current)
                try:
                    await asyncio.sleep(defer)
                finally:
                    self._deferred.discard(current)
            async with self._limit:
                await fn(self._ctx, *args, **kwargs)
        except Exception:
            log.exception("job %s failed", fn.__name__)
        finally:
            if job_id is not None:
                self._job_ids.discard(job_id)

    async def _cron_loop(self, cron: CronTask) -> None:
        if not cron.run_at_startup:
            await asyncio.sleep(cron.every_seconds)
        while True:
            try:
                await cron.task(self._ctx)
            except Exception:
                log.exception("cron task %s failed", cron.name)
            await asyncio.sleep(cron.every_seconds)

    async def start(self) -> None:
        self._timers = [asyncio.create_task(self._cron_loop(c), name=f"cron:{c.name}") for c in self._cron]

    async def join(self) -> None:
        """Wait for every job queued so far, and the jobs they queue (tests, shutdown); jobs still waiting
        out a delay are not waited for."""
        while busy := [job for job in self._running if job not in self._deferred]:
            await asyncio.gather(*busy, return_exceptions=True)

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        await asyncio.gather(*self._timers, return_exceptions=True)
        self._timers = []
        for job in list(self._deferred):  # delayed jobs of an embedded process end with it (cron recovers)
            job.cancel()
        await self.join()


class ArqJobQueue:
    """Enqueues on arq; `engage worker` processes (workers/settings.py) run the jobs."""

    def __init__(self, redis_settings: Any, queue_name: str) -> None:
        self._redis_settings = redis_settings
        self._queue_name = queue_name
        self._pool: Any = None

    async def start(self) -> None:
        from arq import create_pool

        self._pool = await create_pool(self._redis_settings, default_queue_name=self._queue_name)

    async def stop(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None

    async def enqueue(
        self, task: str, *args: Any, job_id: str | None = None, defer_seconds: float = 0, **kwargs: Any
    ) -> None:
        if self._pool is None:
            raise RuntimeError("ArqJobQueue.start() was not called")
        defer = {"_defer_by": defer_seconds} if defer_seconds > 0 else {}
        await self._pool.enqueue_job(task, *args, _job_id=job_id, **defer, **kwargs)
