"""/ws event frames go through the ASGI server's own send (uvicorn), past Litestar's app-level wrappers."""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_impl import WebSocketProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.protocols.websockets.wsproto_impl import WSProtocol

from engage.realtime.ws import server_send


async def _wrapped(message: Any) -> None:
    return None


def _protocol(module: str, receive_name: str, send_name: str) -> Any:
    async def receive(self: Any) -> None:
        return None

    async def send(self: Any, message: Any) -> None:
        return None

    receive.__name__, send.__name__ = receive_name, send_name
    cls = type("Protocol", (), {receive_name: receive, send_name: send, "__module__": module})
    return cls()


def test_uvicorn_protocols_hand_over_their_own_send() -> None:
    sansio = _protocol("uvicorn.protocols.websockets.websockets_sansio_impl", "receive", "send")
    assert server_send(sansio.receive, _wrapped) == sansio.send
    legacy = _protocol("uvicorn.protocols.websockets.websockets_impl", "asgi_receive", "asgi_send")
    assert server_send(legacy.asgi_receive, _wrapped) == legacy.asgi_send


def test_anything_else_keeps_the_send_it_was_given() -> None:
    other = _protocol("some.test.client", "receive", "send")
    assert server_send(other.receive, _wrapped) is _wrapped
    assert server_send(lambda: None, _wrapped) is _wrapped  # type: ignore[arg-type,return-value]
    # a uvicorn object whose `receive` is not one of the known pairs: do not guess
    odd = _protocol("uvicorn.protocols.websockets.websockets_impl", "recv", "send")
    assert server_send(odd.recv, _wrapped) is _wrapped


def test_the_installed_uvicorn_still_names_its_asgi_callables_so() -> None:
    for cls, receive, send in (
        (WebSocketsSansIOProtocol, "receive", "send"),
        (WSProtocol, "receive", "send"),
        (WebSocketProtocol, "asgi_receive", "asgi_send"),
    ):
        assert callable(getattr(cls, receive)) and callable(getattr(cls, send)), cls


def test_an_accepted_socket_lets_go_of_its_opening_request() -> None:
    from litestar import WebSocket
    from litestar.types import Empty
    from litestar.utils.scope.state import ScopeState

    from engage.realtime.ws import release_handshake

    protocol = _protocol("uvicorn.protocols.websockets.websockets_sansio_impl", "receive", "send")
    protocol.request, protocol.response, protocol.handshake_complete = object(), object(), True
    scope: Any = {
        "type": "websocket",
        "path": "/ws",
        "headers": [(b"cookie", b"engage_session=abc"), (b"origin", b"http://shop.test")],
        "query_string": b"",
    }
    socket: WebSocket[Any, Any, Any] = WebSocket(scope, protocol.receive, protocol.send)
    assert socket.cookies["engage_session"] == "abc"

    release_handshake(socket, protocol.send)

    assert protocol.request is None and protocol.response is None
    assert ScopeState.from_scope(scope).headers is Empty and ScopeState.from_scope(scope).cookies is Empty
    assert socket.headers["origin"] == "http://shop.test"  # read again from the scope when asked


def test_a_socket_still_opening_keeps_its_request() -> None:
    from litestar import WebSocket

    from engage.realtime.ws import release_handshake

    protocol = _protocol("uvicorn.protocols.websockets.websockets_sansio_impl", "receive", "send")
    request = object()
    protocol.request, protocol.response, protocol.handshake_complete = request, None, False
    scope: Any = {"type": "websocket", "path": "/ws", "headers": [], "query_string": b""}
    release_handshake(WebSocket(scope, protocol.receive, protocol.send), protocol.send)
    assert protocol.request is request
