"""Sign-in throttle: failures counted per account and per client address, with a growing delay.

Each key (the account's email; the client's address) has an allowance of failures per window (the account:
`ENGAGE_RATE_LIMIT_LOGIN`, the address: `ENGAGE_RATE_LIMIT_LOGIN_IP`, larger: many people share an
office's address). Past it, every further attempt must wait 2, 4, 8, ... seconds after the last failure
(at most the window), else 429 with Retry-After. Guessing one account's password from many addresses is
slowed by the account key; trying many accounts from one address, by the address key. A success clears
the account's failures, not the address's (signing in to one's own account does not buy more guesses).
"""

from __future__ import annotations

import hashlib
import math
import time

import msgspec

from engage.platform.errors import RateLimited
from engage.platform.stores import KeyValue

# Failures kept per key: enough for the delay to reach its ceiling.
_KEEP = 64


class LoginThrottle:
    def __init__(
        self,
        store: KeyValue,
        *,
        limit: int,
        window_seconds: int,
        ip_limit: int | None = None,
        ip_window_seconds: int | None = None,
    ) -> None:
        self._store = store
        self._limit = limit
        self._window = window_seconds
        self._ip_limit = ip_limit if ip_limit is not None else 4 * limit
        self._ip_window = ip_window_seconds or window_seconds

    @staticmethod
    def _key(kind: str, value: str) -> str:
        return f"login:{kind}:" + hashlib.sha256(value.lower().encode()).hexdigest()

    def _keys(self, email: str, client: str) -> list[tuple[str, int, int]]:
        """(key, allowance, window) of the account and of the address."""
        return [
            (self._key("account", email), self._limit, self._window),
            (self._key("address", client), self._ip_limit, self._ip_window),
        ]

    async def _failures(self, key: str, window: int) -> list[float]:
        raw = await self._store.get(key)
        now = time.time()
        stamps = msgspec.json.decode(raw, type=list[float]) if raw else []
        return [t for t in stamps if now - t < window]

    @staticmethod
    def delay(failures: int, allowance: int, window: int) -> float:
        """Seconds an attempt must wait after the last of `failures` failures (0 within the allowance)."""
        beyond = failures - allowance + 1
        return 0.0 if beyond <= 0 else float(min(window, 2 ** min(beyond, 30)))

    async def check(self, email: str, client: str) -> None:
        if self._limit <= 0:
            return
        now = time.time()
        for key, allowance, window in self._keys(email, client):
            failures = await self._failures(key, window)
            wait = failures[-1] + self.delay(len(failures), allowance, window) - now if failures else 0.0
            if wait > 0:
                raise RateLimited(
                    "too many failed sign-in attempts; try again later", retry_after=max(1, math.ceil(wait))
                )

    async def failed(self, email: str, client: str) -> None:
        if self._limit <= 0:
            return
        for key, _, window in self._keys(email, client):
            failures = [*await self._failures(key, window), time.time()]
            await self._store.set(key, msgspec.json.encode(failures[-_KEEP:]), expires_in=window)

    async def succeeded(self, email: str, client: str) -> None:
        await self._store.delete(self._key("account", email))
