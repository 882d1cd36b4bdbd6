"""One Redis client per process (production mode only), over a bounded connection pool."""

from __future__ import annotations

from typing import TYPE_CHECKING

from redis.asyncio import BlockingConnectionPool, Redis

if TYPE_CHECKING:
    from arq.connections import RedisSettings

# How long a command waits for a free pooled connection before it fails (the request then gets a 503).
POOL_WAIT_SECONDS = 10


def make_redis(url: str, *, max_connections: int) -> Redis | None:
    if not url:
        return None
    pool = BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=POOL_WAIT_SECONDS, health_check_interval=30
    )
    return Redis(connection_pool=pool)


# The job queue's connection rides over a Redis restart: each command retries on a lost connection with a
# growing pause (about a minute and a half in all) before the worker gives up and `run_worker` starts over.
QUEUE_RETRIES = 40
QUEUE_BACKOFF_CAP_SECONDS = 3.0


async def persistence(redis: Redis) -> str:
    """How Redis keeps its data across a restart: "aof", "rdb", "none", or "unknown" (CONFIG refused, as on
    some managed services). Sessions live in Redis: with "none", a restart signs every shopper out."""
    try:
        appendonly = await redis.config_get("appendonly")
        save = await redis.config_get("save")
    except Exception:  # a managed Redis may refuse CONFIG
        return "unknown"
    if str(appendonly.get("appendonly", "")).lower() == "yes":
        return "aof"
    return "rdb" if str(save.get("save", "")).strip() else "none"


def arq_redis_settings(url: str) -> RedisSettings:
    from arq.connections import RedisSettings
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError, TimeoutError

    settings = RedisSettings.from_dsn(url)
    settings.conn_retries = QUEUE_RETRIES
    settings.retry_on_error = [ConnectionError, TimeoutError, OSError]
    settings.retry = Retry(ExponentialBackoff(cap=QUEUE_BACKOFF_CAP_SECONDS, base=0.1), QUEUE_RETRIES)
    return settings
