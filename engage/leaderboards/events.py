"""Leaderboards' events and their channel."""

from __future__ import annotations

from typing import Any, ClassVar

from engage.platform.events import Event


def leaderboard_channel(board_id: int) -> str:
    """Public (active boards): the top N, live; `latest` policy (only the newest standings matter)."""
    return f"leaderboard:{board_id}"


class StandingsChanged(Event):
    """The board's top N now. `changed_at_ms`: when the newest change it includes happened (server clock),
    for the event-to-screen measurement."""

    type: ClassVar[str] = "leaderboard.standings"
    board_id: int
    period: str
    top: list[dict[str, Any]]  # [{"rank", "name", "value", "token"}]
    size: int  # how many are ranked
    changed_at_ms: int
