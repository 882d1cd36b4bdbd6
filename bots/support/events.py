"""The help centre's events: every process reloads its knowledge base on them."""

from __future__ import annotations

from typing import ClassVar

from engage.platform.events import Event


class HelpChanged(Event):
    """An article was saved or deleted: reload, and embed what is new."""

    type: ClassVar[str] = "help.changed"
    slug: str


class HelpEmbedded(Event):
    """Passages got their vectors: reload."""

    type: ClassVar[str] = "help.embedded"
    passages: int
