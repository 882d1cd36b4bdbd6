"""Reviews' events: no channel; loyalty's review bonus follows them (and re-reads the review)."""

from __future__ import annotations

from typing import ClassVar

from engage.platform.events import Event


class ReviewChanged(Event):
    """A review was written, changed, hidden, shown again or deleted (`status` "deleted")."""

    type: ClassVar[str] = "review.changed"
    review_id: int
    user_id: int
    product_id: int
    status: str
