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
_NOT_A_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_OPENS = frozenset(b"[{")


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


def json_problem(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """Why this JSON text is refused before parsing, or None. Says nothing about its validity otherwise."""
    data = raw.encode(errors="surrogatepass") if isinstance(raw, str) else raw
    if nesting_depth(data, max_depth) > max_depth:
        return f"JSON nested deeper than {max_depth} levels"
    return None


__all__ = ["MAX_JSON_DEPTH", "json_problem", "nesting_depth"]
