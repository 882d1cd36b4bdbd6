"""Answers that are the same for every visitor, served before the per-visitor middleware.

A public GET route marked `opt={"shared_response": "<source>"}` (the catalog's listing and category tree)
answers everyone alike from data whose version the source names (the catalog cache's generation, moved by
the catalog's and inventory's events). Its 200 answers are kept here by URL with the version read before
the request went in; a request for a kept URL whose version is still current is answered from memory, with
its ETag (304 when the client has it), without sessions, authentication, rate limits, CSRF or the handler:
the cost of one version read. The version is read on every request, so nothing stale is served once the
event moved it; entries also live at most `ttl_seconds` (orderings such as popularity move without one).
Only the body and its content headers are kept: never a cookie or a rate limit's headers.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

from engage.http.conditional import matches

OPT = "shared_response"
_KEPT_HEADERS = (b"content-type", b"etag", b"cache-control")
MAX_ENTRIES = 512


@dataclass(frozen=True, slots=True)
class _Kept:
    version: str
    expires: float
    headers: list[tuple[bytes, bytes]]
    etag: str
    body: bytes


class SharedResponseMiddleware:
    def __init__(
        self, app: ASGIApp, *, versions: Mapping[str, Callable[[], Awaitable[str]]], ttl_seconds: int
    ) -> None:
        self.app = app
        self.versions = versions
        self.ttl = ttl_seconds
        self.kept: OrderedDict[str, _Kept] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        source = handler.opt.get(OPT) if handler is not None else None
        if source is None or scope["type"] != ScopeType.HTTP or scope["method"] != "GET" or self.ttl <= 0:
            await self.app(scope, receive, send)
            return
        url = scope["path"] + "?" + scope.get("query_string", b"").decode("latin-1")
        version = await self.versions[source]()
        kept = self.kept.get(url)
        if kept is not None and kept.version == version and kept.expires > time.monotonic():
            self.kept.move_to_end(url)
            await self._answer(scope, send, kept)
            return
        await self.app(scope, receive, self._keeping(url, version, send))

    @staticmethod
    async def _answer(scope: Scope, send: Send, kept: _Kept) -> None:
        if_none_match = dict(scope["headers"]).get(b"if-none-match")
        if if_none_match is not None and matches(if_none_match.decode("latin-1"), kept.etag):
            headers = [header for header in kept.headers if header[0] != b"content-type"]
            await send(HTTPResponseStartEvent(type="http.response.start", status=304, headers=headers))
            await send(HTTPResponseBodyEvent(type="http.response.body", body=b"", more_body=False))
            return
        length = (b"content-length", str(len(kept.body)).encode())
        await send(
            HTTPResponseStartEvent(type="http.response.start", status=200, headers=[*kept.headers, length])
        )
        await send(HTTPResponseBodyEvent(type="http.response.body", body=kept.body, more_body=False))

    def _keeping(self, url: str, version: str, send: Send) -> Send:
        status, headers, chunks = 0, [], []

        async def keep(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (n.lower(), v) for n, v in message.get("headers") or [] if n.lower() in _KEPT_HEADERS
                ]
            elif message["type"] == "http.response.body" and status == 200:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    self._keep(url, version, headers, b"".join(chunks))
            await send(message)

        return keep

    def _keep(self, url: str, version: str, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        etag = next((value.decode("latin-1") for name, value in headers if name == b"etag"), None)
        if etag is None:
            return
        self.kept[url] = _Kept(version, time.monotonic() + self.ttl, headers, etag, body)
        self.kept.move_to_end(url)
        if len(self.kept) > MAX_ENTRIES:
            self.kept.popitem(last=False)


__all__ = ["OPT", "SharedResponseMiddleware"]
