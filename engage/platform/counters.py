"""Fixed-window counters: atomic round trips shared by concurrent hits (Redis), or a dict (embedded).

Rate limits of every kind count here: `hit(key, seconds)` adds one to the key's current window and says how
many hits that window holds and how long until it turns.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from typing import NamedTuple, Protocol

from redis.asyncio import Redis

from engage.platform.shared_reads import Batched


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


# INCRBY each window's key by the hits it got in the batch, and set the expiry where a batch made the key: one
# round trip for every hit made meanwhile, atomic across nodes.
_HIT_MANY = """
local out = {}
for i, key in ipairs(KEYS) do
  local n = tonumber(ARGV[2 * i - 1])
  local hits = redis.call('INCRBY', key, n)
  if hits == n then redis.call('PEXPIRE', key, ARGV[2 * i]) end
  out[2 * i - 1] = hits
  out[2 * i] = redis.call('PTTL', key)
end
return out
"""


class RedisWindowCounter:
    """Hits made while a round trip is out go together in the next one (a storm of requests, each counted
    by the rate limit, then costs a few round trips, not one each); each hit gets its own count, as if the
    batch's hits of a key had come one after another."""

    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self._prefix = f"{prefix}:counter"
        self._script = redis.register_script(_HIT_MANY)
        self._hits: Batched[tuple[str, int], Window] = Batched(self._hit_together)

    async def hit(self, key: str, seconds: int) -> Window:
        window = int(time.time() // seconds)
        return await self._hits((f"{self._prefix}:{seconds}:{key}:{window}", seconds))

    async def _hit_together(self, hits: list[tuple[str, int]]) -> list[Window]:
        counts = Counter(key for key, _ in hits)
        seconds_of = dict(hits)
        args: list[int] = []
        for key, n in counts.items():
            args += [n, seconds_of[key] * 1000]
        raw = await self._script(keys=list(counts), args=args)
        totals = {key: (int(raw[2 * i]), int(raw[2 * i + 1])) for i, key in enumerate(counts)}
        given: Counter[str] = Counter()
        windows = []
        for key, _ in hits:
            total, ttl_ms = totals[key]
            given[key] += 1
            windows.append(Window(total - counts[key] + given[key], max(1, math.ceil(ttl_ms / 1000))))
        return windows


def make_counter(redis: Redis | None, prefix: str) -> WindowCounter:
    return MemoryWindowCounter() if redis is None else RedisWindowCounter(redis, prefix=prefix)
