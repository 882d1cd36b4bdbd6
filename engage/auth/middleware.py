"""Resolve who is asking: bearer token, socket token (`?token=` on /ws), or the session cookie.

A browser without a sign-in gets a guest id in its session, so a cart or a chat can start at once.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast
from weakref import WeakKeyDictionary

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException
from litestar.middleware.authentication import AbstractAuthenticationMiddleware, AuthenticationResult
from sqlalchemy.ext.asyncio import AsyncSession

from engage.auth import service
from engage.auth.models import User
from engage.auth.security import TwoFactorPolicy, mark_confirmed
from engage.auth.tokens import BearerAuth, Resolved, TokenService, resolve_api_tokens, token_hash
from engage.http.sessions import start_guest
from engage.platform.identity import ANONYMOUS, Identity
from engage.platform.runtime import Runtime
from engage.platform.shared_reads import BatchedLookup

# A role change, a deactivation, a password change or a revoked token reaches every node within this many
# seconds (at once on the node that made the change: it forgets what it kept).
_CACHE_SECONDS = 5.0
_CACHE_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class _Account:
    identity: Identity | None
    password_changed_at: float  # epoch seconds; 0 when never changed


# keyed by database and user: a process may host runtimes of several databases (the test suite does)
_identity_cache: dict[tuple[str, int], tuple[float, _Account]] = {}
_token_cache: dict[str, tuple[float, Resolved | None]] = {}
# per runtime (its session maker): a process may host several
_lookups: WeakKeyDictionary[Any, dict[str, BatchedLookup[Any, Any]]] = WeakKeyDictionary()


def _batched(runtime: Runtime, name: str, read: Callable[[AsyncSession, list[Any]], Awaitable[Any]]) -> Any:
    """`read` for this runtime's database, concurrent requests' keys looked up together (one query per
    round: a storm of first requests, e.g. a flash sale's opening, costs a few queries, not a checkout each)."""
    kept = _lookups.setdefault(runtime.sessionmaker, {})
    if name not in kept:

        async def look_up(keys: list[Any]) -> Any:
            async with runtime.sessionmaker() as session:
                return await read(session, keys)

        kept[name] = BatchedLookup(look_up)
    return kept[name]


def _accounts(runtime: Runtime) -> BatchedLookup[int, User]:
    """Active accounts by id."""
    return cast(BatchedLookup[int, User], _batched(runtime, "accounts", service.get_users))


def _tokens(runtime: Runtime) -> BatchedLookup[str, tuple[Resolved, User | None]]:
    """Bearer tokens with their accounts."""
    return cast(
        BatchedLookup[str, tuple[Resolved, User | None]], _batched(runtime, "tokens", resolve_api_tokens)
    )


async def _load_account(runtime: Runtime, user_id: int) -> _Account:
    hit = _identity_cache.get((runtime.settings.db_url, user_id))
    if hit is not None and time.monotonic() - hit[0] < _CACHE_SECONDS:
        return hit[1]
    return _remember_account(runtime, user_id, await _accounts(runtime)(user_id))


def _remember_account(runtime: Runtime, user_id: int, user: User | None) -> _Account:
    changed = user.password_changed_at.timestamp() if user and user.password_changed_at else 0.0
    account = _Account(service.identity_of(user) if user is not None else None, changed)
    if len(_identity_cache) > _CACHE_LIMIT:
        _identity_cache.clear()
    _identity_cache[(runtime.settings.db_url, user_id)] = (time.monotonic(), account)
    return account


async def load_identity(runtime: Runtime, user_id: int) -> Identity | None:
    return (await _load_account(runtime, user_id)).identity


async def _resolve_token(runtime: Runtime, token: str) -> Resolved | None:
    digest = token_hash(token)
    hit = _token_cache.get(digest)
    now = time.monotonic()
    if hit is not None and now - hit[0] < _CACHE_SECONDS:
        return hit[1]
    found = await _tokens(runtime)(token)
    resolved = None
    if found is not None:
        resolved, user = found
        _remember_account(runtime, resolved.user_id, user)
    if len(_token_cache) > _CACHE_LIMIT:
        _token_cache.clear()
    _token_cache[digest] = (now, resolved)
    return resolved


_policies: dict[tuple[str, tuple[str, ...]], TwoFactorPolicy] = {}


def policy_of(runtime: Runtime) -> TwoFactorPolicy:
    """This process's view of which staff roles need a second factor (per database and setting)."""
    default = runtime.settings.two_factor_roles
    key = (runtime.settings.db_url, tuple(default))
    policy = _policies.get(key)
    if policy is None:
        policy = _policies[key] = TwoFactorPolicy(runtime.sessionmaker, default)
    return policy


def forget_identity(user_id: int) -> None:
    for key in [k for k in _identity_cache if k[1] == user_id]:
        _identity_cache.pop(key, None)


def forget_tokens(*, digest: str | None = None, user_id: int | None = None) -> None:
    """Stop trusting what this node kept of a revoked token (by its hash) or of all a user's tokens."""
    if digest is not None:
        _token_cache.pop(digest, None)
    if user_id is not None:
        for key in [k for k, (_, r) in _token_cache.items() if r is not None and r.user_id == user_id]:
            _token_cache.pop(key, None)


def session_signed_in(session: dict[str, Any], user_id: int, *, second_factor: bool = False) -> None:
    """Mark a browser session as signed in to `user_id` now (a later password change ends it), with or
    without a second factor; signing in counts as confirming it's you."""
    session["user_id"] = user_id
    session["signed_in_at"] = time.time()
    session["second_factor"] = second_factor
    mark_confirmed(session)


def session_second_factor(session: dict[str, Any]) -> None:
    session["second_factor"] = True


class EngageAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        runtime: Runtime = connection.app.state.runtime
        tokens = TokenService(runtime.stores["tokens"])

        authorization = connection.headers.get("authorization", "")
        if authorization[:7].lower() == "bearer ":
            resolved = await _resolve_token(runtime, authorization[7:].strip())
            ident = await load_identity(runtime, resolved.user_id) if resolved is not None else None
            if resolved is None or ident is None:
                raise NotAuthorizedException("invalid, expired or revoked token")
            return AuthenticationResult(user=ident, auth=BearerAuth(resolved.token_id))

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
            account = await _load_account(runtime, int(user_id))
            ident = account.identity
            if ident is not None and float(session.get("signed_in_at", 0)) >= account.password_changed_at:
                needs = await policy_of(runtime).required(ident.role) and not session.get("second_factor")
                return AuthenticationResult(
                    user=Identity(ident.user_id, ident.role, guest_id, ident.email, ident.name, needs),
                    auth="session",
                )
            session.pop("user_id", None)  # gone, deactivated, or signed in before the password changed
            session.pop("signed_in_at", None)
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
