"""A request id per request: taken from X-Request-ID when sane, else made; echoed back and bound to logs."""

from __future__ import annotations

import itertools
import os
import re
import secrets

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send

_SANE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# this process's random prefix and a counter: unique across nodes, and no system call per request
_PROCESS = secrets.token_hex(6)
_SEQUENCE = itertools.count(1)


def new_request_id() -> str:
    return f"{_PROCESS}-{next(_SEQUENCE):x}"


def _new_process() -> None:
    global _PROCESS, _SEQUENCE
    _PROCESS, _SEQUENCE = secrets.token_hex(6), itertools.count(1)


os.register_at_fork(after_in_child=_new_process)


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SANE.match(incoming) else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        encoded_id = request_id.encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*(message.get("headers") or []), (b"x-request-id", encoded_id)]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await self.app(scope, receive, send_with_id)
