"""Fixed-window counters: one atomic round trip per hit (Redis), or a dict (embedded).

Rate limits of every kind count here: `hit(key, seconds)` adds one to the key's current window and says how
many hits that window holds and how long until it turns.
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple, Protocol

from redis.asyncio import Redis


class Window(NamedTuple):
    hits: int
    resets_in: int  # whole seconds until the window turns


class WindowCounter(Protocol):
    async def hit(self, key: str, seconds: int) -> Window: ...


class MemoryWindowCounter:
    """Windows are aligned to the clock; keys of past windows are forgotten as windows turn."""

    def __init__(self) -> None:
        self._windows: dict[int, dict[str, tuple[int, int]]] = {}

    async def hit(self, key: str, seconds: int) -> Window:
        now = time.time()
        window = int(now // seconds)
        bucket = self._windows.setdefault(seconds, {})
        start, hits = bucket.get(key, (window, 0))
        if start != window:
            if len(bucket) > 10_000:
                bucket = self._windows[seconds] = {k: v for k, v in bucket.items() if v[0] == window}
            start, hits = window, 0
        bucket[key] = (window, hits + 1)
        return Window(hits + 1, math.ceil((window + 1) * seconds - now))


# INCR, and the expiry set by the first hit of a window: one round trip, atomic across nodes.
_HIT = """
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {hits, redis.call('PTTL', KEYS[1])}
"""


class RedisWindowCounter:
    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self._prefix = f"{prefix}:counter"
        self._script = redis.register_script(_HIT)

    async def hit(self, key: str, seconds: int) -> Window:
        window = int(time.time() // seconds)
        hits, ttl_ms = await self._script(
            keys=[f"{self._prefix}:{seconds}:{key}:{window}"], args=[seconds * 1000]
        )
        return Window(int(hits), max(1, math.ceil(int(ttl_ms) / 1000)))


def make_counter(redis: Redis | None, prefix: str) -> WindowCounter:
    return MemoryWindowCounter() if redis is None else RedisWindowCounter(redis, prefix=prefix)
