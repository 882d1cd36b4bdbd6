"""Cached catalog responses in the runtime's `cache` store, invalidated at once by a generation token.

Every entry's key carries the current generation; `invalidate()` replaces the token, so every node (the
store is Redis in production) stops using older entries at the same moment, and they expire by themselves.
Each process also keeps the entries it served recently in memory under the same keys: a hit then costs one
small read (the token) instead of fetching the whole body again, and is never stale (the token is checked).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from engage.platform.shared_reads import SharedRead
from engage.platform.stores import KeyValue

_GENERATION = "catalog:generation"
# Bodies kept in this process (a listing page is ~20-40 KB): a few MB at most.
LOCAL_ENTRIES = 256


class CatalogCache:
    def __init__(self, store: KeyValue, *, ttl_seconds: int) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._local: OrderedDict[str, tuple[float, bytes]] = OrderedDict()  # key -> (expires, body)
        self._shared_generation = SharedRead(self._read_generation)

    async def generation(self) -> str:
        """The current token, read after the call (concurrent callers share one read: SharedRead)."""
        return await self._shared_generation()

    async def _read_generation(self) -> str:
        raw = await self._store.get(_GENERATION)
        if raw is None:
            token = secrets.token_hex(8)
            await self._store.set(_GENERATION, token)
            return token
        return raw.decode()

    async def invalidate(self) -> None:
        await self._store.set(_GENERATION, secrets.token_hex(8))
        self._local.clear()

    async def get_or_build(self, kind: str, params: str, build: Callable[[], Awaitable[bytes]]) -> bytes:
        """The cached bytes for (kind, params), or `build()`'s, stored for next time."""
        if self._ttl <= 0:
            return await build()
        generation = await self.generation()
        key = f"catalog:{generation}:{kind}:{hashlib.sha256(params.encode()).hexdigest()[:32]}"
        local = self._local.get(key)
        if local is not None and local[0] > time.monotonic():
            self._local.move_to_end(key)
            return local[1]
        cached = await self._store.get(key)
        if cached is not None:
            self._remember(key, cached)
            return cached
        body = await build()
        # Built from data older than a concurrent invalidation? Then the generation moved on: don't store.
        if await self.generation() == generation:
            await self._store.set(key, body, expires_in=self._ttl)
            self._remember(key, body)
        return body

    def _remember(self, key: str, body: bytes) -> None:
        # never kept longer than the shared entry lives: changes that do not move the token (popularity)
        # show up within the TTL on every node alike
        self._local[key] = (time.monotonic() + self._ttl, body)
        self._local.move_to_end(key)
        if len(self._local) > LOCAL_ENTRIES:
            self._local.popitem(last=False)
