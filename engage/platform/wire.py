"""Checks on raw input before anything parses it: HTTP bodies and socket frames alike.

A JSON parser recurses once per nesting level, so `[[[[...]]]]` a thousand deep exhausts the stack
(msgspec and the standard library raise RecursionError: a 500, or a closed socket). And PostgreSQL refuses
the NUL character in any text value, so a `\\u0000` inside a JSON string would reach the database and fail
there. `json_problem` finds both with a linear scan of the raw bytes, before any parser sees them.
"""

from __future__ import annotations

import re

# Deeper than any document this service reads (a product draft is 4 deep, a socket frame 3).
MAX_JSON_DEPTH = 64

# A JSON string: quote, then runs of plain characters or escapes, then quote (unrolled: linear, no backtracking).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# `\u0000` as an escape: preceded by an even number of backslashes (`\\u0000` is a backslash, then "u0000").
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_NOT_A_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_OPENS = frozenset(b"[{")
# PostgreSQL stores no NUL in text, and no language needs it: refused wherever text comes in.
NUL_REFUSED = "text may not contain the NUL character (\\u0000)"


def nesting_depth(raw: bytes, limit: int = MAX_JSON_DEPTH) -> int:
    """The deepest `[`/`{` nesting outside strings, or a bound of it (exact above `limit`, where it stops
    counting; at or below `limit`, at least the true depth)."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_A_BRACKET)
    opens = brackets.count(b"[") + brackets.count(b"{")
    if opens <= limit:  # the usual case: too few brackets to be too deep, whatever their order
        return opens
    depth = deepest = 0
    for byte in brackets:
        if byte in _OPENS:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif depth:
            depth -= 1
    return deepest


def has_nul(raw: bytes) -> bool:
    """A NUL character in the document: a raw zero byte or a `\\u0000` escape inside a string."""
    return b"\x00" in raw or (b"u0000" in raw and _NUL_ESCAPE.search(raw) is not None)


def query_has_nul(query_string: bytes) -> bool:
    """A NUL in a URL's query, raw or percent-encoded (`%00`)."""
    return b"\x00" in query_string or b"%00" in query_string


def json_problem(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """Why this JSON text is refused before parsing, or None. Says nothing about its validity otherwise."""
    data = raw.encode(errors="surrogatepass") if isinstance(raw, str) else raw
    if nesting_depth(data, max_depth) > max_depth:
        return f"JSON nested deeper than {max_depth} levels"
    if has_nul(data):
        return NUL_REFUSED
    return None


__all__ = ["MAX_JSON_DEPTH", "NUL_REFUSED", "has_nul", "json_problem", "nesting_depth", "query_has_nul"]
