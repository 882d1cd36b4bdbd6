"""Fixed-window counters: every hit counted once, across concurrent callers and nodes."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from engage.platform.counters import MemoryWindowCounter, RedisWindowCounter
from tests.conftest import REDIS_URL, count_calls


async def test_concurrent_hits_each_get_their_own_count_in_few_round_trips(redis_prefix: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    node_a, node_b = (RedisWindowCounter(redis, prefix=redis_prefix) for _ in range(2))
    round_trips = count_calls((node_a, node_b), "_script")
    try:
        hits = [node_a.hit("shopper:1", 60) for _ in range(150)]
        hits += [node_b.hit("shopper:1", 60) for _ in range(150)]
        hits += [node_a.hit(f"shopper:{n}", 60) for n in range(2, 52)]
        windows = await asyncio.gather(*hits)

        assert sorted(w.hits for w in windows[:300]) == list(range(1, 301))  # as if one after another
        assert [w.hits for w in windows[300:]] == [1] * 50
        assert all(1 <= w.resets_in <= 60 for w in windows)
        assert (await node_b.hit("shopper:1", 60)).hits == 301
        assert round_trips.calls <= 10  # 351 hits: a few round trips, not one each
        ttl = await redis.pttl(next(iter(await redis.keys(f"{redis_prefix}:counter:60:shopper:1:*"))))
        assert 0 < ttl <= 60_000  # the window's key expires with the window
    finally:
        await redis.aclose()


async def test_the_embedded_counter_counts_the_same_way() -> None:
    counter = MemoryWindowCounter()
    windows = await asyncio.gather(*(counter.hit("shopper:1", 60) for _ in range(100)))
    assert sorted(w.hits for w in windows) == list(range(1, 101))
    assert (await counter.hit("shopper:2", 60)).hits == 1
