"""The channel kinds the hub itself defines (other areas register theirs in engage/wiring.py)."""

from __future__ import annotations

from engage.platform.runtime import Runtime
from engage.realtime.access import owner_only
from engage.realtime.kinds import ChannelKind
from engage.realtime.products import product_kind


def builtin_kinds(runtime: Runtime) -> list[ChannelKind]:
    return [
        # private: order updates, notifications
        ChannelKind("user", authorize=owner_only, policy="reliable"),
        # price, available stock (and flash-sale state) of one product, by handle
        product_kind(runtime),
    ]
