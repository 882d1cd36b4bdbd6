"""Conditional GETs for JSON that changes with the catalog: an ETag from the body, 304 when the client has it.

The ETag is a digest of the bytes sent, so it moves exactly when the answer does (a price or stock change
makes new bytes); `no-cache` lets browsers keep the body but ask again each time.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

from litestar import Request, Response

JSON = "application/json"
_REVALIDATE = {"Cache-Control": "no-cache"}


@lru_cache(maxsize=256)  # the cache hands out the same bytes again: their digest is computed once
def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def matches(if_none_match: str, etag: str) -> bool:
    if if_none_match.strip() == "*":
        return True
    # weak and strong forms compare alike for GET (RFC 9110 13.1.2)
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


def conditional_json(request: Request[Any, Any, Any], body: bytes) -> Response[bytes]:
    etag = etag_of(body)
    headers = {**_REVALIDATE, "ETag": etag}
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and matches(if_none_match, etag):
        return Response(b"", status_code=304, headers=headers)
    return Response(body, media_type=JSON, headers=headers)
