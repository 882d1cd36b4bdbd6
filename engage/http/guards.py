"""Who may use a route or a socket frame. Every handler declares one of these (a test checks it).

Guards are coroutines: Litestar runs a plain function guard in a worker thread, a thread hop on every
request for a check that never blocks."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from engage.http.sessions import start_guest
from engage.platform.errors import PermissionDenied
from engage.platform.identity import ANONYMOUS, Identity, Role

SECOND_FACTOR_NEEDED = (
    "this role's powers need two-factor sign-in: turn it on, or enter a code, at /account/security"
)

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def identity_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Identity:
    user = connection.scope.get("user")
    return user if isinstance(user, Identity) else ANONYMOUS


def _named(access: str, fn: Guard) -> Guard:
    fn.engage_access = access  # type: ignore[attr-defined]  # a function attribute, read back by access_of
    fn.__name__ = f"guard_{access}"
    return fn


async def _public(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    return None


async def _shopper(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Anyone with an identity: a signed-in user, or a guest (a browser session becomes one here)."""
    ident = identity_of(connection)
    if ident.user_id is not None or ident.guest_id is not None:
        return
    session = connection.scope.get("session")
    if not isinstance(session, dict) or connection.scope["type"] != ScopeType.HTTP:
        raise NotAuthorizedException("a session or a sign-in is required")
    connection.scope["user"] = Identity(None, None, guest_id=start_guest(session))


async def _signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if not identity_of(connection).is_authenticated:
        raise NotAuthorizedException("sign in required")


async def _metrics(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """`/metrics`: with ENGAGE_METRICS_TOKEN set, only `Authorization: Bearer <that token>`; without one,
    open outside production (a developer's machine, tests) and refused in production."""
    settings = connection.app.state.services.settings
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    if not token:
        if settings.env == "production":
            raise PermissionDeniedException("metrics are off: set ENGAGE_METRICS_TOKEN to scrape them")
        return
    given = connection.headers.get("authorization", "")
    if not (
        given[:7].lower() == "bearer " and hmac.compare_digest(given[7:].strip().encode(), token.encode())
    ):
        raise NotAuthorizedException("the metrics token is required", headers={"WWW-Authenticate": "Bearer"})


def requires_role(*roles: Role) -> Guard:
    """Signed in with one of `roles` (admin passes every role check)."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        ident = identity_of(connection)
        if not ident.is_authenticated:
            raise NotAuthorizedException("sign in required")
        if not ident.has_role(*roles):
            raise PermissionDeniedException(f"requires role {' or '.join(r.value for r in roles)}")
        if ident.needs_second_factor:
            raise PermissionDenied(SECOND_FACTOR_NEEDED, code="two_factor_required")

    return _named("+".join(r.value for r in roles), guard)


public = _named("public", _public)
shopper = _named("shopper", _shopper)
signed_in = _named("signed_in", _signed_in)
metrics_scraper = _named("metrics_token", _metrics)
staff = requires_role(Role.agent, Role.marketer)
agent = requires_role(Role.agent)
marketer = requires_role(Role.marketer)
admin = requires_role(Role.admin)


def access_of(handler: BaseRouteHandler) -> list[str]:
    guards = [g for layer in handler.ownership_layers for g in (layer.guards or [])]
    return [g.engage_access for g in guards if hasattr(g, "engage_access")]
