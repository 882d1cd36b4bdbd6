"""Litestar's double-submit CSRF check, for browser sessions only.

A request that authenticates with a bearer token, or carries no session cookie at all, cannot ride on a
victim's browser session, so the check is skipped for it.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import Receive, Scope, Send

SESSION_COOKIE = "engage_session"


class SessionCSRFMiddleware(CSRFMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        unsafe = scope["type"] == ScopeType.HTTP and scope["method"] not in self.config.safe_methods
        if unsafe and not _uses_session_cookie(scope):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _uses_session_cookie(scope: Scope) -> bool:
    headers = dict(scope["headers"])
    if headers.get(b"authorization", b"")[:7].lower() == b"bearer ":
        return False
    return f"{SESSION_COOKIE}=".encode() in headers.get(b"cookie", b"")
