"""Standings kept ranked: Redis sorted sets in production, the same interface in memory embedded.

Ranking: higher value first; equal values rank by who reached theirs earlier; equal to the millisecond, the
lower user id first. In Redis the score is the value (a double: exact for integers below 2**53, far above
any points total or spend in minor units) and ties are ordered by the member, which sorts lexicographically
among equal scores: `member = (T - reached_ms, U - user_id)` zero-padded, so ZREVRANGE (descending) puts
the earliest first. No time is folded into the score, so no precision is lost (tests/loyalty check it).
A hash maps each user to their current member, so one Lua script moves a user atomically.

A board's standings are a function of the database (engage.leaderboards.standings): when Redis loses them
(no `built` marker) the service rebuilds them exactly, into temporary keys renamed over the live ones.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

_T = 10**14 - 1  # epoch milliseconds fit in 14 digits until the year 5138
_U = 10**12 - 1
MAX_EXACT = 2**53

_PUT_LUA = """
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then redis.call('ZREM', KEYS[1], old) end
if tonumber(ARGV[2]) <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
"""


@dataclass(frozen=True, slots=True)
class Standing:
    user_id: int
    value: int
    reached_ms: int
    rank: int  # 1-based


def member_of(user_id: int, reached_ms: int) -> str:
    return f"{_T - reached_ms:014d}{_U - user_id:012d}"


def parse_member(member: str) -> tuple[int, int]:
    """(user_id, reached_ms)"""
    return _U - int(member[14:]), _T - int(member[:14])


def order_key(user_id: int, value: int, reached_ms: int) -> tuple[int, int, int]:
    return (-value, reached_ms, user_id)


class StandingsStore(Protocol):
    async def put(self, board: str, user_id: int, value: int, reached_ms: int) -> None:
        """Set a user's value (<= 0 removes them from the board)."""

    async def top(self, board: str, n: int) -> list[Standing]: ...

    async def around(self, board: str, user_id: int, radius: int) -> tuple[Standing | None, list[Standing]]:
        """The user's standing and the ones `radius` above and below it."""

    async def count(self, board: str) -> int: ...

    async def replace(self, board: str, rows: list[tuple[int, int, int]], *, ttl: int | None) -> None:
        """All of a board's standings at once, (user, value, reached_ms), atomically for readers."""

    async def built(self, board: str) -> bool: ...

    async def drop(self, board: str) -> None: ...


class MemoryStandings:
    """Embedded mode: one process, sorted lists (bisect)."""

    def __init__(self) -> None:
        self._rows: dict[str, list[tuple[int, int, int]]] = {}
        self._by_user: dict[str, dict[int, tuple[int, int, int]]] = {}

    async def put(self, board: str, user_id: int, value: int, reached_ms: int) -> None:
        rows = self._rows.setdefault(board, [])
        users = self._by_user.setdefault(board, {})
        old = users.pop(user_id, None)
        if old is not None:
            del rows[bisect.bisect_left(rows, old)]
        if value > 0:
            key = order_key(user_id, value, reached_ms)
            bisect.insort(rows, key)
            users[user_id] = key

    @staticmethod
    def _standing(key: tuple[int, int, int], rank: int) -> Standing:
        return Standing(user_id=key[2], value=-key[0], reached_ms=key[1], rank=rank)

    async def top(self, board: str, n: int) -> list[Standing]:
        return [self._standing(k, i + 1) for i, k in enumerate(self._rows.get(board, [])[:n])]

    async def around(self, board: str, user_id: int, radius: int) -> tuple[Standing | None, list[Standing]]:
        key = self._by_user.get(board, {}).get(user_id)
        if key is None:
            return None, []
        rows = self._rows[board]
        index = bisect.bisect_left(rows, key)
        start = max(0, index - radius)
        near = [self._standing(k, start + i + 1) for i, k in enumerate(rows[start : index + radius + 1])]
        return self._standing(key, index + 1), near

    async def count(self, board: str) -> int:
        return len(self._rows.get(board, []))

    async def replace(self, board: str, rows: list[tuple[int, int, int]], *, ttl: int | None) -> None:
        self._rows[board], self._by_user[board] = [], {}
        keys = {u: order_key(u, v, r) for u, v, r in rows if v > 0}
        self._rows[board] = sorted(keys.values())
        self._by_user[board] = keys

    async def built(self, board: str) -> bool:
        return board in self._rows

    async def drop(self, board: str) -> None:
        self._rows.pop(board, None)
        self._by_user.pop(board, None)


class RedisStandings:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:lb"
        self._put = redis.register_script(_PUT_LUA)

    def _keys(self, board: str) -> tuple[str, str, str]:
        base = f"{self._prefix}:{board}"
        return f"{base}:z", f"{base}:h", f"{base}:built"

    async def put(self, board: str, user_id: int, value: int, reached_ms: int) -> None:
        if abs(value) >= MAX_EXACT:
            raise ValueError("value beyond the exact range of a sorted set's score")
        z, h, _ = self._keys(board)
        await self._put(keys=[z, h], args=[user_id, value, member_of(user_id, reached_ms)])

    async def _standings(self, rows: list[tuple[bytes, float]], first_rank: int) -> list[Standing]:
        out = []
        for i, (member, score) in enumerate(rows):
            user_id, reached = parse_member(member.decode() if isinstance(member, bytes) else member)
            out.append(Standing(user_id=user_id, value=int(score), reached_ms=reached, rank=first_rank + i))
        return out

    async def top(self, board: str, n: int) -> list[Standing]:
        z, _, _ = self._keys(board)
        return await self._standings(await self._redis.zrevrange(z, 0, n - 1, withscores=True), 1)

    async def around(self, board: str, user_id: int, radius: int) -> tuple[Standing | None, list[Standing]]:
        z, h, _ = self._keys(board)
        member: bytes | str | None = await self._redis.hget(h, str(user_id))  # type: ignore[misc]  # redis-py types async hget as sync-or-async
        if member is None:
            return None, []
        rank = await self._redis.zrevrank(z, member)
        if rank is None:
            return None, []
        start = max(0, rank - radius)
        near = await self._standings(
            await self._redis.zrevrange(z, start, rank + radius, withscores=True), start + 1
        )
        mine = next((s for s in near if s.user_id == user_id), None)
        return mine, near

    async def count(self, board: str) -> int:
        z, _, _ = self._keys(board)
        return int(await self._redis.zcard(z))

    async def replace(self, board: str, rows: list[tuple[int, int, int]], *, ttl: int | None) -> None:
        z, h, built = self._keys(board)
        tmp_z, tmp_h = f"{z}:rebuild", f"{h}:rebuild"
        kept = [(u, v, r) for u, v, r in rows if v > 0]
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.delete(tmp_z, tmp_h)
            for start in range(0, len(kept), 1000):
                chunk = kept[start : start + 1000]
                pipe.zadd(tmp_z, {member_of(u, r): v for u, v, r in chunk})
                pipe.hset(tmp_h, mapping={str(u): member_of(u, r) for u, v, r in chunk})
            await pipe.execute()
        async with self._redis.pipeline(transaction=True) as pipe:
            if kept:
                pipe.rename(tmp_z, z)
                pipe.rename(tmp_h, h)
            else:
                pipe.delete(z, h)
            pipe.set(built, "1")
            if ttl:
                pipe.expire(z, ttl)
                pipe.expire(h, ttl)
                pipe.expire(built, ttl)
            await pipe.execute()

    async def built(self, board: str) -> bool:
        _, _, built = self._keys(board)
        return bool(await self._redis.exists(built))

    async def drop(self, board: str) -> None:
        await self._redis.delete(*self._keys(board))


def make_standings(redis: Redis | None, prefix: str) -> StandingsStore:
    return RedisStandings(redis, prefix) if redis is not None else MemoryStandings()
