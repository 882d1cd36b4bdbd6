"""Who may watch the channels the hub itself defines."""

from __future__ import annotations

from engage.platform.identity import Identity
from engage.realtime.kinds import channel_id


async def anyone(identity: Identity, channel: str) -> bool:
    """Public channels (product stock and prices, flash sales, announcements)."""
    return True


async def anyone_unnamed(identity: Identity, channel: str) -> bool:
    """Public channels that are one per site (`announcements`, `flash-sales`): `kind:{id}` is no such channel."""
    return channel_id(channel) is None


async def owner_only(identity: Identity, channel: str) -> bool:
    """`user:{id}`: the signed-in user `id` and nobody else (not even staff: it carries private events)."""
    return identity.user_id is not None and channel_id(channel) == str(identity.user_id)
