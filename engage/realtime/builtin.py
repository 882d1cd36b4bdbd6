"""The channel kinds the hub itself defines (other areas register theirs in engage/wiring.py)."""

from __future__ import annotations

from engage.realtime.access import owner_only
from engage.realtime.kinds import ChannelKind


def builtin_kinds() -> list[ChannelKind]:
    return [
        # private: order updates, notifications (engage.platform.events.user_channel)
        ChannelKind("user", authorize=owner_only, policy="reliable"),
    ]
