"""Refusals that are the same for whoever asks, answered as soon as who is asking is known.

A POST route marked `opt={"early_refusal": "<name>"}` (a flash-sale claim) names a check that may refuse the
request from its path and body alone, with the answer the route itself would give, because nothing about
the caller could change it (the item is sold out for everyone). The route's guards run first, so a caller
who may not use the route is still told so; a refused request then skips the rate limit, CSRF, idempotency,
the audit and the handler, none of which a refusal that changes nothing needs. A request carrying an
`Idempotency-Key` goes through whole (its first answer may have to be replayed), and so does any request the
check is not sure about. In a flash sale's storm, almost every claim is such a refusal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from engage.http.idempotency import HEADER as IDEMPOTENCY_KEY
from engage.http.inputs import read_up_to, replaying
from engage.http.problems import domain_problem
from engage.platform.errors import DomainError

OPT = "early_refusal"
# answers what the request must be refused with, or None to let it go on
Check = Callable[[Mapping[str, Any], bytes], Awaitable[DomainError | None]]


class EarlyRefusalMiddleware:
    def __init__(self, app: ASGIApp, *, checks: Mapping[str, Check], max_body_bytes: int) -> None:
        self.app = app
        self.checks = checks
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        name = handler.opt.get(OPT) if handler is not None else None
        if (
            name is None
            or scope["type"] != ScopeType.HTTP
            or scope["method"] != "POST"
            or any(header == IDEMPOTENCY_KEY for header, _ in scope["headers"])
        ):
            await self.app(scope, receive, send)
            return
        body, complete, more = await read_up_to(receive, self.max_body_bytes)
        if complete:
            connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope, receive)
            for guard in handler.resolve_guards():
                checked = guard(connection, handler)
                if checked is not None:  # engage's guards are coroutines (tests/architecture)
                    await checked
            refusal = await self.checks[name](scope.get("path_params") or {}, body)
            if refusal is not None:  # answered, not raised: nothing of the request outlives it in a cycle
                request: Request[Any, Any, Any] = Request(scope, receive)
                response = domain_problem(refusal).to_response(request)
                await response.to_asgi_response(None, request)(scope, receive, send)
                return
        await self.app(scope, replaying(body, receive, more=more), send)


__all__ = ["OPT", "Check", "EarlyRefusalMiddleware"]
