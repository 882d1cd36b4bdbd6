"""Opaque bearer tokens kept in a store under their SHA-256 (a leaked store does not leak tokens)."""

from __future__ import annotations

import hashlib
import secrets

from engage.platform.stores import KeyValue

API_TOKEN_TTL = 30 * 86400
# Socket tokens only bridge "fetch a token over HTTP" to "open the socket", so a minute is plenty.
SOCKET_TOKEN_TTL = 60


def _key(kind: str, token: str) -> str:
    return f"{kind}:{hashlib.sha256(token.encode()).hexdigest()}"


class TokenService:
    def __init__(self, store: KeyValue) -> None:
        self._store = store

    async def issue(self, user_id: int, *, kind: str = "api", ttl: int = API_TOKEN_TTL) -> str:
        token = secrets.token_urlsafe(32)
        await self._store.set(_key(kind, token), str(user_id).encode(), expires_in=ttl)
        return token

    async def resolve(self, token: str, *, kind: str = "api") -> int | None:
        if not token or len(token) > 128:
            return None
        raw = await self._store.get(_key(kind, token))
        return int(raw) if raw is not None else None

    async def revoke(self, token: str, *, kind: str = "api") -> None:
        await self._store.delete(_key(kind, token))
