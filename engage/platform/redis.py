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


def arq_redis_settings(url: str) -> RedisSettings:
    from arq.connections import RedisSettings

    return RedisSettings.from_dsn(url)
