"""The `announcements` channel: public, every notice matters, a new tab gets the running ones."""

from __future__ import annotations

from typing import Any

from engage.announcements import service
from engage.announcements.events import CHANNEL
from engage.platform.identity import Identity
from engage.platform.runtime import Runtime
from engage.realtime import ChannelKind
from engage.realtime.access import anyone_unnamed


def announcements_kind(runtime: Runtime) -> ChannelKind:
    async def running(identity: Identity, channel: str) -> dict[str, Any]:
        async with runtime.sessionmaker() as session:
            return {"announcements": [service.as_dict(a) for a in await service.running(session)]}

    return ChannelKind(CHANNEL, authorize=anyone_unnamed, policy="reliable", snapshot=running)
