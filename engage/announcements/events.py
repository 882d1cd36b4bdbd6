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
