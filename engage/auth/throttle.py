"""Failed-login throttle per account and client address (N failures per window, then 429)."""

from __future__ import annotations

import hashlib
import time

import msgspec

from engage.platform.errors import RateLimited
from engage.platform.stores import KeyValue


class LoginThrottle:
    def __init__(self, store: KeyValue, *, limit: int, window_seconds: int) -> None:
        self._store = store
        self._limit = limit
        self._window = window_seconds

    @staticmethod
    def _key(email: str, client: str) -> str:
        return "login:" + hashlib.sha256(f"{email.lower()}|{client}".encode()).hexdigest()

    async def _failures(self, key: str) -> list[float]:
        raw = await self._store.get(key)
        now = time.time()
        stamps = msgspec.json.decode(raw, type=list[float]) if raw else []
        return [t for t in stamps if now - t < self._window]

    async def check(self, email: str, client: str) -> None:
        if self._limit <= 0:
            return
        failures = await self._failures(self._key(email, client))
        if len(failures) >= self._limit:
            retry_after = int(self._window - (time.time() - failures[0])) + 1
            raise RateLimited("too many failed sign-in attempts; try again later", retry_after=retry_after)

    async def failed(self, email: str, client: str) -> None:
        key = self._key(email, client)
        failures = [*await self._failures(key), time.time()]
        await self._store.set(key, msgspec.json.encode(failures[-self._limit :]), expires_in=self._window)

    async def succeeded(self, email: str, client: str) -> None:
        await self._store.delete(self._key(email, client))
