"""The `stock-low` channel on the hub: marketers and admins watch it; its snapshot is what is low now."""

from __future__ import annotations

from typing import Any

import msgspec

from commerce.catalog import low_and_out
from engage.alerts.events import STAFF_LOW_STOCK
from engage.platform.identity import Identity, Role
from engage.platform.runtime import Runtime
from engage.realtime import ChannelKind
from engage.realtime.kinds import channel_id


def low_stock_kind(runtime: Runtime) -> ChannelKind:
    async def staff_only(identity: Identity, channel: str) -> bool:
        return identity.has_role(Role.marketer) and channel_id(channel) is None

    async def current(identity: Identity, channel: str) -> Any:
        async with runtime.sessionmaker() as session:
            rows = await low_and_out(session, limit=50)
        return {"low": msgspec.to_builtins(rows)}

    return ChannelKind(STAFF_LOW_STOCK, authorize=staff_only, policy="reliable", snapshot=current)
