"""The socket door: `/ws`. Checks the origin, accepts, then relays frames between the socket and the hub."""

from __future__ import annotations

from typing import Any

from litestar import WebSocket, websocket
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Empty, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from engage.config import Settings
from engage.http.guards import identity_of, public
from engage.realtime.hub import Realtime
from engage.services import Services

# Close code before the handshake completes: the server answers the upgrade with HTTP 403.
_ORIGIN_REFUSED = 4403
_SERVER_SEND = "engage.socket_send"


# uvicorn's WebSocket protocols hand the app a bound (receive, send) pair of the connection's protocol object.
_UVICORN_SEND_OF = {"receive": "send", "asgi_receive": "asgi_send"}


def _uvicorn_protocol(bound: Receive | Send) -> Any:
    """The uvicorn WebSocket protocol object a bound `receive` or `send` belongs to, if it is one."""
    owner = getattr(bound, "__self__", None)
    if owner is None or not type(owner).__module__.startswith("uvicorn.protocols.websockets."):
        return None
    return owner


def server_send(receive: Receive, send: Send) -> Send:
    """The ASGI server's own `send` of this socket, before Litestar wrapped it (its exception middleware and
    `before_send` hooks, which only act on response starts and closes yet cost ~15 % of a fan-out's CPU at
    10,000 sockets). Known only under uvicorn, found through its bound `receive`; otherwise `send` as given."""
    owner = _uvicorn_protocol(receive)
    if owner is None:
        return send
    name = _UVICORN_SEND_OF.get(getattr(receive, "__name__", ""))
    own = getattr(owner, name, None) if name else None
    return own if callable(own) else send


def release_handshake(socket: WebSocket[Any, Any, Any], send: Send) -> None:
    """Once accepted, a socket no longer needs what it parsed of its opening request: Litestar's headers and
    cookies (read again from the scope if ever asked), and the request and response uvicorn's
    websockets-sansio protocol keeps. Together about 4 KB of every idle socket's memory."""
    state = ScopeState.from_scope(socket.scope)
    state.headers = state.cookies = Empty
    owner = _uvicorn_protocol(send)
    if owner is not None and getattr(owner, "handshake_complete", False):
        for name in ("request", "response"):
            if getattr(owner, name, None) is not None:
                setattr(owner, name, None)


class SocketSendMiddleware:
    """Keeps the server's own `send` of a WebSocket (outermost middleware): event frames then skip the send
    wrappers of the HTTP middleware (sessions, metrics, headers) and of the app, which only act on response
    starts and closes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.WEBSOCKET:
            scope.setdefault("state", {})[_SERVER_SEND] = server_send(receive, send)
        await self.app(scope, receive, send)


def _origin(url: str) -> str:
    return url.strip().rstrip("/").lower()


def origin_allowed(socket: WebSocket[Any, Any, Any], settings: Settings) -> bool:
    """Browsers always send Origin on a WebSocket: it must be this site, the public URL or a CORS origin.
    Non-browser clients send none and are judged by their credentials alone."""
    origin = socket.headers.get("origin")
    if origin is None:
        return True
    scheme = "https" if socket.url.scheme in ("wss", "https") else "http"
    allowed = {f"{scheme}://{socket.headers.get('host', '')}".lower()}
    if settings.public_url:
        allowed.add(_origin(settings.public_url))
    allowed.update(_origin(o) for o in settings.cors_origins)
    return _origin(origin) in allowed


@websocket("/ws", guards=[public], name="realtime-socket")
async def realtime_socket(socket: WebSocket[Any, Any, Any], services: Services) -> None:
    """One socket per tab: subscribe to channels, receive their events, send area frames (docs/protocol.md)."""
    hub: Realtime = services.realtime
    if not origin_allowed(socket, services.settings):
        await socket.close(code=_ORIGIN_REFUSED, reason="origin not allowed")
        return
    send = socket.scope.get("state", {}).get(_SERVER_SEND, socket.send)
    await socket.accept()
    release_handshake(socket, send)
    conn = hub.attach(identity_of(socket), send)
    try:
        while not conn.closed:
            message = await socket.receive()
            if message["type"] != "websocket.receive":
                break
            await conn.receive(message.get("text"), message.get("bytes"))
    finally:
        await hub.detach(conn)
