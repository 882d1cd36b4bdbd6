"""Requests are checked before any handler parses them (docs/architecture.md, "Requests").

For a handler that reads a JSON body (`data` of a JSON media type) the body is read here, at most
`ENGAGE_MAX_BODY_BYTES` of it (413 beyond), scanned by the kernel's `engage.platform.wire.json_problem`
(nesting depth, the NUL character; the same check guards socket frames) and handed on unchanged. A NUL in
the path or the query of any request is refused too: PostgreSQL stores none, and no text needs one. Handlers that stream their
body (attachments) or read it raw (webhooks) are left alone.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import parse_qsl

from litestar.enums import RequestEncodingType, ScopeType
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.types import ASGIApp, HTTPRequestEvent, Receive, ReceiveMessage, Scope, Send

from engage.http.params import BIGINT_MAX
from engage.platform.wire import NUL_REFUSED, json_problem, query_has_nul

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


def _is_int(field: Any) -> bool:
    types = [
        t for t in (field.inner_types if field.is_optional else (field,)) if t.annotation is not type(None)
    ]
    return bool(types) and all(t.annotation is int for t in types)


@cache
def int_query_parameters(handler: Any) -> frozenset[str]:
    """The query keys a handler reads as integers (aliases included)."""
    signature = getattr(handler, "parsed_fn_signature", None)
    if signature is None:
        return frozenset()
    names = set()
    for name, field in signature.parameters.items():
        if name != "data" and _is_int(field):
            names.add(getattr(field.kwarg_definition, "query", None) or name)
    return frozenset(names)


def out_of_range(scope: Scope) -> str | None:
    """The integer path or query parameter that no bigint column can hold, if any."""
    for name, value in (scope.get("path_params") or {}).items():
        if isinstance(value, int) and not -BIGINT_MAX - 1 <= value <= BIGINT_MAX:
            return name
    handler = scope.get("route_handler")
    query = scope.get("query_string", b"")
    names = int_query_parameters(handler) if handler is not None and query else frozenset()
    if names:
        for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if key in names and len(value) > 18 and value.lstrip("+-").isdigit():
                if not -BIGINT_MAX - 1 <= int(value) <= BIGINT_MAX:
                    return key
    return None


async def read_up_to(receive: Receive, limit: int) -> tuple[bytes, bool, bool]:
    """(what was read, whether it is within `limit`, whether more of it is still to come): reading stops
    as soon as the body passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), True, False
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        more = bool(message.get("more_body", False))
        if size > limit:
            return b"".join(chunks), False, more
        if not more:
            return b"".join(chunks), True, False


async def read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The whole body, or (what was read, False) as soon as it passes `limit` bytes."""
    body, within, _ = await read_up_to(receive, limit)
    return body, within


def replaying(body: bytes, receive: Receive, *, more: bool = False) -> Receive:
    """A `receive` that gives the body read here first, then the connection's own messages: the rest of the
    body when `more` (one too long to keep, that the handler must still get whole), or the disconnect."""
    given = False

    async def replay() -> ReceiveMessage:
        nonlocal given
        if not given:
            given = True
            request: HTTPRequestEvent = {"type": "http.request", "body": body, "more_body": more}
            return request
        return await receive()

    return replay


UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Bodies other parties write, checked by their own signature (Stripe's webhooks).
RAW_BODY_PATHS = ("/api/webhooks/",)
_JSON_SUFFIX = "+json"


def media_type_of(headers: dict[bytes, bytes]) -> str:
    return headers.get(b"content-type", b"").decode("latin-1").split(";", 1)[0].strip().lower()


def check_content_type(headers: dict[bytes, bytes], expected: str) -> None:
    """A state-changing request with a body must say it is what the handler reads (JSON, or multipart
    for uploads), else 415. A page of another site can send only text/plain, a form or multipart without
    asking the browser's leave first (a CORS preflight), so requiring JSON is what keeps a cross-site form
    from signing a browser in to someone else's account (login CSRF) or acting with its session."""
    has_body = headers.get(b"content-length", b"0") not in (b"", b"0") or b"transfer-encoding" in headers
    given = media_type_of(headers)
    if not given and not has_body:
        return
    if given == expected or (
        expected == JSON and given.startswith("application/") and given.endswith(_JSON_SUFFIX)
    ):
        return
    raise problem(
        415,
        "unsupported_media_type",
        f"send this request's body as {expected}" + (f", not {given}" if given else ""),
        expected=expected,
    )


class InputCheckMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or query_has_nul(scope.get("query_string", b"")):
            raise problem(400, "invalid_request", NUL_REFUSED)
        if (name := out_of_range(scope)) is not None:
            raise problem(400, "out_of_range", f"{name} is out of range", parameter=name)
        expected = body_media_type(scope.get("route_handler"))
        headers = dict(scope["headers"])
        if (
            expected is not None
            and scope["method"] in UNSAFE
            and not scope["path"].startswith(RAW_BODY_PATHS)
        ):
            check_content_type(headers, expected)
        if expected != JSON:
            await self.app(scope, receive, send)
            return
        declared = headers.get(b"content-length", b"")
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


__all__ = ["InputCheckMiddleware", "body_media_type", "check_content_type", "problem"]
