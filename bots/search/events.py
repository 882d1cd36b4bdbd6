"""Search's event: products whose index entries changed (every process refreshes them in memory)."""

from __future__ import annotations

from typing import ClassVar

from engage.platform.events import Event


class Indexed(Event):
    type: ClassVar[str] = "search.indexed"
    product_ids: list[int]
