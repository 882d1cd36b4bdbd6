"""Resolve who is asking: bearer token, socket token (`?token=` on /ws), or the session cookie.

A browser without a sign-in gets a guest id in its session, so a cart or a chat can start at once.
"""

from __future__ import annotations

import time
from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException
from litestar.middleware.authentication import AbstractAuthenticationMiddleware, AuthenticationResult

from engage.auth import service
from engage.auth.tokens import TokenService
from engage.http.sessions import start_guest
from engage.platform.identity import ANONYMOUS, Identity
from engage.platform.runtime import Runtime

# A role change or deactivation reaches every request within this many seconds.
_IDENTITY_CACHE_SECONDS = 5.0
_identity_cache: dict[int, tuple[float, Identity | None]] = {}


async def load_identity(runtime: Runtime, user_id: int) -> Identity | None:
    hit = _identity_cache.get(user_id)
    now = time.monotonic()
    if hit is not None and now - hit[0] < _IDENTITY_CACHE_SECONDS:
        return hit[1]
    async with runtime.sessionmaker() as session:
        user = await service.get_user(session, user_id)
    ident = service.identity_of(user) if user is not None else None
    if len(_identity_cache) > 10_000:
        _identity_cache.clear()
    _identity_cache[user_id] = (now, ident)
    return ident


def forget_identity(user_id: int) -> None:
    _identity_cache.pop(user_id, None)


class EngageAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        runtime: Runtime = connection.app.state.runtime
        tokens = TokenService(runtime.stores["tokens"])

        authorization = connection.headers.get("authorization", "")
        if authorization[:7].lower() == "bearer ":
            user_id = await tokens.resolve(authorization[7:].strip())
            ident = await load_identity(runtime, user_id) if user_id is not None else None
            if ident is None:
                raise NotAuthorizedException("invalid or expired token")
            return AuthenticationResult(user=ident, auth="bearer")

        if connection.scope["type"] == ScopeType.WEBSOCKET and (
            token := connection.query_params.get("token")
        ):
            user_id = await tokens.resolve(token, kind="socket")
            ident = await load_identity(runtime, user_id) if user_id is not None else None
            if ident is None:
                raise NotAuthorizedException("invalid or expired socket token")
            return AuthenticationResult(user=ident, auth="socket-token")

        scope_session = connection.scope.get("session")
        if not isinstance(scope_session, dict):
            return AuthenticationResult(user=ANONYMOUS, auth=None)
        session: dict[str, Any] = scope_session
        guest_id = session.get("guest_id")
        if (user_id := session.get("user_id")) is not None:
            ident = await load_identity(runtime, int(user_id))
            if ident is not None:
                return AuthenticationResult(
                    user=Identity(ident.user_id, ident.role, guest_id, ident.email, ident.name),
                    auth="session",
                )
            session.pop("user_id", None)
        if guest_id is None:
            if not _is_page_view(connection):
                return AuthenticationResult(user=ANONYMOUS, auth=None)
            guest_id = start_guest(session)
        return AuthenticationResult(user=Identity(None, None, guest_id=guest_id), auth="guest")


def _is_page_view(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """A browser opening a page: the moment a visitor becomes a guest. API reads stay sessionless, so
    crawlers and API clients create nothing (guarded shopper actions start a guest themselves)."""
    path = connection.scope["path"]
    return (
        connection.scope["type"] == ScopeType.HTTP
        and connection.scope["method"] == "GET"
        and not path.startswith(("/api/", "/ws", "/static/"))
    )
