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
    async def enqueue(self, task: str, *args: Any, job_id: str | None = None, **kwargs: Any) -> None: ...

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
        self._timers: list[asyncio.Task[None]] = []
        self._job_ids: set[str] = set()

    async def enqueue(self, task: str, *args: Any, job_id: str | None = None, **kwargs: Any) -> None:
        fn = self._tasks.get(task)
        if fn is None:
            raise LookupError(f"unknown task {task!r}")
        if job_id is not None:
            if job_id in self._job_ids:
                return  # same semantics as arq: one job per id while it is queued or running
            self._job_ids.add(job_id)
        job = asyncio.create_task(self._run(fn, args, kwargs, job_id), name=f"job:{task}")
        self._running.add(job)
        job.add_done_callback(self._running.discard)

    async def _run(self, fn: Task, args: tuple[Any, ...], kwargs: dict[str, Any], job_id: str | None) -> None:
        try:
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
        """Wait for every job queued so far, and the jobs they queue (tests, shutdown)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        await asyncio.gather(*self._timers, return_exceptions=True)
        self._timers = []
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

    async def enqueue(self, task: str, *args: Any, job_id: str | None = None, **kwargs: Any) -> None:
        if self._pool is None:
            raise RuntimeError("ArqJobQueue.start() was not called")
        await self._pool.enqueue_job(task, *args, _job_id=job_id, **kwargs)
