"""Security headers on every HTTP response: CSP without inline script, no framing, no sniffing, HSTS on TLS."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
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


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        tls = self.hsts or scope.get("scheme") == "https"
        csp = DOCS_CSP if scope["path"].rstrip("/") in DOCS_PATHS else CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers.setdefault("Content-Security-Policy", csp)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
                headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                if tls:
                    headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
            await send(message)

        await self.app(scope, receive, send_with_headers)
