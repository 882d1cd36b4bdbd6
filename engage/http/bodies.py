"""Request bodies are checked before any handler parses them (docs/architecture.md, "Requests").

For a handler that reads a JSON body (`data` of a JSON media type) the body is read here, at most
`ENGAGE_MAX_BODY_BYTES` of it (413 beyond), scanned by the kernel's `engage.platform.wire.json_problem`
(nesting depth; the same check guards socket frames) and handed on unchanged. Handlers that stream their
body (attachments) or read it raw (webhooks) are left alone.
"""

from __future__ import annotations

from typing import Any

from litestar.enums import RequestEncodingType
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from engage.platform.wire import json_problem

JSON = RequestEncodingType.JSON.value


def problem(status: int, code: str, detail: str, **extra: Any) -> ProblemDetailsException:
    """An RFC 9457 answer raised from middleware (the problem details plugin renders it)."""
    return ProblemDetailsException(
        status_code=status,
        title=code.replace("_", " "),
        detail=detail,
        type_=f"urn:engage:problem:{code}",
        extra={"code": code, **extra},
    )


def body_media_type(handler: Any) -> str | None:
    """How the handler reads its body: "application/json", "multipart/form-data", ... or None (no `data`)."""
    field = getattr(handler, "parsed_data_field", None)
    if field is None:
        return None
    media_type = getattr(field.kwarg_definition, "media_type", None) or RequestEncodingType.JSON
    return str(media_type.value if isinstance(media_type, RequestEncodingType) else media_type)


async def read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The whole body, or (what was read, False) as soon as it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), True
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", False
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True


def replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body read here once, then the connection's own messages (disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay  # type: ignore[return-value]


class BodyCheckMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or body_media_type(scope.get("route_handler")) != JSON:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise self._too_large()
        body, complete = await read_body(receive, self.max_body_bytes)
        if not complete:
            raise self._too_large()
        reason = json_problem(body)
        if reason is not None:
            raise problem(400, "invalid_body", reason)
        await self.app(scope, replaying(body, receive), send)

    def _too_large(self) -> ProblemDetailsException:
        return problem(413, "body_too_large", f"a request body is limited to {self.max_body_bytes} bytes")


__all__ = ["BodyCheckMiddleware", "body_media_type", "problem"]
