"""The gate in front of the claim transaction: turns away, atomically and in arrival order, claims that
cannot succeed (sold out, limit reached) before they queue on the database.

Production: a Redis script over two keys per claim (units left of the item, units per owner of the sale);
the claims a process makes while one round trip is out go together in the next, in arrival order.
Embedded: no gate; the claim transaction's guarded statements decide alone (SQLite serialises writers).
Either way the database has the last word: the gate is a fast filter, never the source of truth, and is
reloaded from the database when Redis lost it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from datetime import datetime
from enum import Enum
from importlib import resources
from typing import Protocol, cast

from redis.asyncio import Redis

from engage.platform.shared_reads import Batched

_TAKE_LUA = (resources.files("engage.flash_sales") / "gate.lua").read_text()
_GIVE_BACK_LUA = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('INCR', KEYS[1]) end
if tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0') > 0 then redis.call('HINCRBY', KEYS[2], ARGV[1], -1) end
"""
# Keys outlive the sale by a day: a late payment or release still finds them; then Redis forgets them.
_KEEP_AFTER_END_SECONDS = 86400


class Verdict(Enum):
    taken = "taken"
    sold_out = "sold_out"
    limit_reached = "limit_reached"
    not_loaded = "not_loaded"
    open = "open"  # no gate: the database decides


class ClaimGate(Protocol):
    async def take(self, sale_id: int, item_id: int, owner: str, limit: int) -> Verdict: ...

    async def give_back(self, sale_id: int, item_id: int, owner: str) -> None: ...

    async def units_left(self, sale_id: int, item_id: int) -> int | None:
        """Units the gate would still give of the item now (None: no gate, or not loaded)."""
        ...

    async def load(
        self,
        sale_id: int,
        left: Mapping[int, int],
        owners: Mapping[str, int],
        ends_at: datetime,
        *,
        overwrite: bool,
    ) -> None: ...

    async def forget(self, sale_id: int, item_ids: list[int]) -> None: ...


class OpenGate:
    """Embedded mode: everything goes to the database."""

    async def take(self, sale_id: int, item_id: int, owner: str, limit: int) -> Verdict:
        return Verdict.open

    async def give_back(self, sale_id: int, item_id: int, owner: str) -> None:
        return None

    async def units_left(self, sale_id: int, item_id: int) -> int | None:
        return None

    async def load(
        self,
        sale_id: int,
        left: Mapping[int, int],
        owners: Mapping[str, int],
        ends_at: datetime,
        *,
        overwrite: bool,
    ) -> None:
        return None

    async def forget(self, sale_id: int, item_ids: list[int]) -> None:
        return None


class RedisGate:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:flash"
        self._take = redis.register_script(_TAKE_LUA)
        self._takes: Batched[tuple[str, str, str, int], int] = Batched(self._take_together)
        self._give_back = redis.register_script(_GIVE_BACK_LUA)
        self._lefts: Batched[str, bytes | None] = Batched(self._read_together)

    def _left(self, sale_id: int, item_id: int) -> str:
        return f"{self._prefix}:{sale_id}:left:{item_id}"

    def _owners(self, sale_id: int) -> str:
        return f"{self._prefix}:{sale_id}:owners"

    async def take(self, sale_id: int, item_id: int, owner: str, limit: int) -> Verdict:
        answer = await self._takes((self._left(sale_id, item_id), self._owners(sale_id), owner, limit))
        if answer > 0:
            return Verdict.taken
        return {0: Verdict.sold_out, -1: Verdict.limit_reached}.get(answer, Verdict.not_loaded)

    async def _take_together(self, claims: list[tuple[str, str, str, int]]) -> list[int]:
        keys: list[str] = []
        args: list[str | int] = []
        for left_key, owners_key, owner, limit in claims:
            keys += [left_key, owners_key]
            args += [owner, limit]
        return [int(answer) for answer in await self._take(keys=keys, args=args)]

    async def units_left(self, sale_id: int, item_id: int) -> int | None:
        left = await self._lefts(self._left(sale_id, item_id))
        return None if left is None else max(int(left), 0)

    async def _read_together(self, keys: list[str]) -> list[bytes | None]:
        return await cast(Awaitable[list[bytes | None]], self._redis.mget(keys))

    async def give_back(self, sale_id: int, item_id: int, owner: str) -> None:
        await self._give_back(keys=[self._left(sale_id, item_id), self._owners(sale_id)], args=[owner])

    async def load(
        self,
        sale_id: int,
        left: Mapping[int, int],
        owners: Mapping[str, int],
        ends_at: datetime,
        *,
        overwrite: bool,
    ) -> None:
        """Set the counters from the database: only where missing (after Redis lost them), or all of them
        (the periodic reconciliation)."""
        expire_at = int(ends_at.timestamp()) + _KEEP_AFTER_END_SECONDS
        async with self._redis.pipeline(transaction=True) as pipe:
            for item_id, units in left.items():
                key = self._left(sale_id, item_id)
                pipe.set(key, max(units, 0), nx=not overwrite)
                pipe.expireat(key, expire_at)
            owners_key = self._owners(sale_id)
            for owner, claimed in owners.items():
                if overwrite:
                    pipe.hset(owners_key, owner, str(claimed))
                else:
                    pipe.hsetnx(owners_key, owner, str(claimed))
            if overwrite:
                known = set(owners)
                # redis-py types a command for its sync and asyncio clients at once; this one is asyncio's
                keys = await cast(Awaitable[list[bytes]], self._redis.hkeys(owners_key))
                stale = [o for o in (key.decode() for key in keys) if o not in known]
                if stale:
                    pipe.hdel(owners_key, *stale)
            pipe.expireat(owners_key, expire_at)
            await pipe.execute()

    async def forget(self, sale_id: int, item_ids: list[int]) -> None:
        await self._redis.delete(self._owners(sale_id), *[self._left(sale_id, i) for i in item_ids])


def make_gate(redis: Redis | None, prefix: str) -> ClaimGate:
    return RedisGate(redis, prefix) if redis is not None else OpenGate()
