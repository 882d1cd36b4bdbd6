"""Site announcements' event and channel."""

from __future__ import annotations

from typing import ClassVar

from engage.platform.events import Event

CHANNEL = "announcements"  # public, one per site


class Posted(Event):
    type: ClassVar[str] = "announcement.posted"
    id: int
    text: str
    level: str
    by: str
    created_at: str  # ISO times: the banner counts down to `expires_at`
    expires_at: str


class Ended(Event):
    """A marketer ended an announcement before its time: tabs remove it."""

    type: ClassVar[str] = "announcement.ended"
    id: int
