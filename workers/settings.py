"""`engage worker`: arq's WorkerSettings built from Engage's settings and the job registry."""

from __future__ import annotations

import logging
import time
from typing import Any

from arq import cron as arq_cron
from arq.cron import CronJob
from arq.worker import run_worker
from redis.exceptions import RedisError

from engage.config import Settings
from engage.platform.jobs import CronTask
from engage.platform.redis import arq_redis_settings
from engage.platform.runtime import queue_name
from workers import registry

log = logging.getLogger("engage.worker")


def _every(task: CronTask) -> CronJob:
    seconds = task.every_seconds
    if seconds % 3600 == 0:  # hourly or daily and longer (daily and beyond: once a day, at 03:00 UTC)
        hours = set(range(0, 24, seconds // 3600)) if seconds < 86400 else {3}
        return arq_cron(task.task, hour=hours, minute={0}, second={0}, run_at_startup=task.run_at_startup)
    if seconds % 60 == 0 and seconds < 3600:
        return arq_cron(
            task.task, minute=set(range(0, 60, seconds // 60)), run_at_startup=task.run_at_startup
        )
    return arq_cron(task.task, second=set(range(0, 60, max(1, seconds))), run_at_startup=task.run_at_startup)


def worker_settings(settings: Settings) -> dict[str, Any]:
    from engage.wiring import build

    async def on_startup(ctx: dict[str, Any]) -> None:
        services = build(settings, run_cron=False)
        await services.start()
        ctx.update(services.runtime.job_context)  # "runtime" and "services", as the in-process runner has

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        await ctx["services"].stop()

    return {
        "functions": registry.TASKS,
        "cron_jobs": [_every(c) for c in registry.CRON],
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "redis_settings": arq_redis_settings(settings.redis_url),
        "queue_name": queue_name(settings),
        "max_jobs": 20,
        "job_timeout": 600,
        "keep_result": 60,
    }


def run_worker_forever(settings: Settings) -> None:
    """`engage worker`: run arq's worker until it is told to stop (SIGINT, SIGTERM). When Redis stays away
    longer than the queue connection's retries, the worker starts over once Redis is back, with a pause
    that doubles up to 30 s (reset after a minute of good work). Durable work lives in PostgreSQL; the
    periodic jobs find what a lost queue held."""
    pause = 1.0
    while True:
        started = time.monotonic()
        try:
            run_worker(worker_settings(settings))
            return
        except (RedisError, OSError) as exc:  # refused, timed out, still loading its data...
            log.warning("worker: Redis failed (%r); starting again in %.0f s", exc, pause, exc_info=True)
        time.sleep(pause)
        pause = 1.0 if time.monotonic() - started > 60 else min(pause * 2, 30.0)
