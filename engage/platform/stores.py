"""Key-value stores (sessions, rate limits, caches, tokens): Litestar's MemoryStore or RedisStore."""

from __future__ import annotations

from typing import Protocol

from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis


class KeyValue(Protocol):
    """What domains need of a store (Litestar's stores satisfy it); keeps domains free of Litestar."""

    async def get(self, key: str, renew_for: int | None = None) -> bytes | None: ...

    async def set(self, key: str, value: str | bytes, expires_in: int | None = None) -> None: ...

    async def delete(self, key: str) -> None: ...


STORE_NAMES = ("sessions", "cache", "tokens", "throttle")


def make_stores(redis: Redis | None, prefix: str) -> dict[str, Store]:
    if redis is None:
        return {name: MemoryStore() for name in STORE_NAMES}
    return {
        name: RedisStore(redis, namespace=f"{prefix}:{name}", handle_client_shutdown=False)
        for name in STORE_NAMES
    }


async def purge_expired(stores: dict[str, Store]) -> None:
    """MemoryStore only forgets expired keys when asked; Redis expires them itself."""
    for store in stores.values():
        if isinstance(store, MemoryStore):
            await store.delete_expired()
