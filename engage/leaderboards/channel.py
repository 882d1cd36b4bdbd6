"""`leaderboard:{id}`: an active board's top N, live (public). The snapshot adds the watcher's own rank and
neighbours; updates carry the top N (policy `latest`: one key per board, only the newest standings count)."""

from __future__ import annotations

from typing import Any

from engage.leaderboards.service import Leaderboards
from engage.platform.identity import Identity
from engage.platform.runtime import Runtime
from engage.realtime import ChannelKind
from engage.realtime.kinds import channel_id


def _board_id(channel: str) -> int | None:
    ident = channel_id(channel)
    return int(ident) if ident and ident.isdigit() and len(ident) < 18 else None


def per_board(event: str, data: dict[str, Any]) -> str:
    return "standings"


def leaderboard_kind(runtime: Runtime, leaderboards: Leaderboards) -> ChannelKind:
    async def may_watch(identity: Identity, channel: str) -> bool:
        board_id = _board_id(channel)
        if board_id is None:
            return False
        return await leaderboards.is_active(board_id)

    async def snapshot(identity: Identity, channel: str) -> Any:
        board_id = _board_id(channel)
        return await leaderboards.snapshot(board_id, identity.user_id) if board_id is not None else None

    return ChannelKind(
        "leaderboard", authorize=may_watch, policy="latest", coalesce=per_board, snapshot=snapshot
    )
