"""What a change replaced, for the audit trail: a service says what a thing was just before it changes it,
and the audit door keeps that with the staff request that made the change. Outside such a request (a
worker, a shopper), saying it does nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import msgspec

_collected: ContextVar[list[dict[str, Any]] | None] = ContextVar("engage_changes_before", default=None)


@contextmanager
def collecting() -> Iterator[list[dict[str, Any]]]:
    """What the code run inside says it replaced, in the order it said it."""
    found: list[dict[str, Any]] = []
    token = _collected.set(found)
    try:
        yield found
    finally:
        _collected.reset(token)


def before(kind: str, key: str | int, state: Any) -> None:
    """`kind` `key` was `state` before this request changed it (the first word on a thing counts)."""
    found = _collected.get()
    if found is None or any(f["kind"] == kind and f["key"] == key for f in found):
        return
    found.append({"kind": kind, "key": key, "was": msgspec.to_builtins(state)})
