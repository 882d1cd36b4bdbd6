"""Calls and reads shared by concurrent callers, never older than any of them.

`Batched(run)` answers one item per call as `run(items)` would: calls made while a batch is out wait for the
next one, which starts when that one returns and takes every call made meanwhile. A storm of requests then
costs a few round trips, not one each, and whatever a caller gets was done after it asked.
`BatchedLookup(lookup)` is that for keys (a data loader: a key asked twice is looked up once), and
`SharedRead(read)` for one value (a version token).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")
R = TypeVar("R")


class Batched(Generic[T, R]):
    def __init__(
        self, run: Callable[[list[T]], Awaitable[Sequence[R]]], *, max_items: int | None = 500
    ) -> None:
        self._run = run
        self._max_items = max_items
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []  # calls for the next batch
        self._running: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, item: T) -> R:
        """What `run` answers for `item`, in a batch that started after this call."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (a command's, a test's): the old one's batch is gone
            self._loop, self._waiting, self._running = loop, [], None
        future: asyncio.Future[R] = loop.create_future()
        self._waiting.append((item, future))
        if self._running is None:
            self._running = asyncio.create_task(self._run_waiting())
        return await asyncio.shield(future)

    async def _run_waiting(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self._max_items]
                del self._waiting[: len(batch)]
                try:
                    results = await self._run([item for item, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        future.set_exception(exc)
                except BaseException:  # cancelled (the loop is closing): nobody is left waiting for ever
                    for _, future in [*batch, *self._waiting]:
                        future.cancel()
                    self._waiting.clear()
                    raise
                else:
                    for (_, future), result in zip(batch, results, strict=True):
                        future.set_result(result)
        finally:
            self._running = None


class BatchedLookup(Generic[K, V]):
    def __init__(self, lookup: Callable[[list[K]], Awaitable[Mapping[K, V]]], *, max_keys: int = 500) -> None:
        async def look_up(keys: list[K]) -> list[V | None]:
            found = await lookup(list(dict.fromkeys(keys)))
            return [found.get(key) for key in keys]

        self._batched: Batched[K, V | None] = Batched(look_up, max_items=max_keys)

    async def __call__(self, key: K) -> V | None:
        """What `lookup` finds for `key`, or None."""
        return await self._batched(key)


class SharedRead(Generic[V]):
    def __init__(self, read: Callable[[], Awaitable[V]]) -> None:
        async def read_once(callers: list[None]) -> list[V]:
            value = await read()
            return [value] * len(callers)

        self._batched: Batched[None, V] = Batched(read_once, max_items=None)

    async def __call__(self) -> V:
        return await self._batched(None)
