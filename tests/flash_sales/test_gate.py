"""The Redis gate: claims taken together in one round trip still decide one after another, across nodes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from engage.flash_sales.gate import RedisGate, Verdict
from tests.conftest import REDIS_URL, count_calls


async def test_concurrent_takes_on_two_nodes_sell_exactly_the_units_and_keep_each_limit(
    redis_prefix: str,
) -> None:
    redis = Redis.from_url(REDIS_URL)
    prefix = f"{redis_prefix}:gate-test"
    node_a, node_b = RedisGate(redis, prefix), RedisGate(redis, prefix)
    round_trips = count_calls((node_a, node_b), "_take")
    try:
        ends = datetime.now(UTC) + timedelta(hours=1)
        await node_a.load(7, {1: 30, 2: 5}, {"early": 2}, ends, overwrite=True)

        claims = [(node_a, 1, "early"), (node_b, 3, "shopper-1")]  # at its limit; an item never loaded
        claims += [(node_a if n % 2 else node_b, 1, f"shopper-{n % 100}") for n in range(400)]
        claims += [(node_b, 2, f"shopper-{n}") for n in range(20)]
        verdicts = await asyncio.gather(*(node.take(7, item, owner, 2) for node, item, owner in claims))

        item_1 = [v for (_, item, _), v in zip(claims, verdicts, strict=True) if item == 1]
        assert item_1.count(Verdict.taken) == 30
        assert item_1.count(Verdict.taken) + item_1.count(Verdict.sold_out) + item_1.count(
            Verdict.limit_reached
        ) == len(item_1)
        taken_by: dict[str, int] = {}
        for (_, _, owner), verdict in zip(claims, verdicts, strict=True):
            if verdict is Verdict.taken:
                taken_by[owner] = taken_by.get(owner, 0) + 1
        assert max(taken_by.values()) <= 2
        assert [v for (_, item, _), v in zip(claims, verdicts, strict=True) if item == 2].count(
            Verdict.taken
        ) == 5
        assert verdicts[0] is Verdict.limit_reached and verdicts[1] is Verdict.not_loaded
        assert int(await redis.get(f"{prefix}:flash:7:left:1") or -1) == 0
        assert round_trips.calls <= 20  # 422 claims: a few round trips, not one each
    finally:
        await node_a.forget(7, [1, 2])
        await redis.aclose()
