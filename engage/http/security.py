"""Security headers on every HTTP response: CSP without inline script, no framing, no sniffing, HSTS on TLS."""

from __future__ import annotations

from collections.abc import Awaitable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: https:",
    "connect-src": "'self' ws: wss:",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def _csp(**overrides: str) -> str:
    return "; ".join(f"{name} {value}" for name, value in (_POLICY | overrides).items())


CSP = _csp()
# The ReDoc page injects its styles and runs its search in a blob: worker; still no inline script, and no
# image from elsewhere (its "by Redocly" logo is served from this site: engage/system/http.py).
DOCS_CSP = _csp(
    **{"style-src": "'self' 'unsafe-inline'", "worker-src": "'self' blob:", "img-src": "'self' data:"}
)
DOCS_PATHS = ("/schema/redoc",)


def _encoded(csp: str, *, tls: bool) -> list[tuple[bytes, bytes]]:
    headers = {
        "content-security-policy": csp,
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "strict-origin-when-cross-origin",
        "permissions-policy": "camera=(), microphone=(), geolocation=()",
        "cross-origin-opener-policy": "same-origin",
    }
    if tls:
        headers["strict-transport-security"] = "max-age=63072000; includeSubDomains"
    return [(name.encode(), value.encode()) for name, value in headers.items()]


# encoded once: a response's headers are raw (name, value) pairs, and one the handler set is kept
_HEADERS = {csp: _encoded(csp, tls=False) for csp in (CSP, DOCS_CSP)}
_HEADERS_TLS = {csp: _encoded(csp, tls=True) for csp in (CSP, DOCS_CSP)}


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # a socket is handed on, not awaited here: no frame of this middleware stays for its lifetime
        if scope["type"] != ScopeType.HTTP:
            return self.app(scope, receive, send)
        return self._with_headers(scope, receive, send)

    async def _with_headers(self, scope: Scope, receive: Receive, send: Send) -> None:
        tls = self.hsts or scope.get("scheme") == "https"
        csp = DOCS_CSP if scope["path"].rstrip("/") in DOCS_PATHS else CSP
        added = _HEADERS_TLS[csp] if tls else _HEADERS[csp]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers") or []
                present = {name.lower() for name, _ in headers}
                message["headers"] = [*headers, *(header for header in added if header[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)
