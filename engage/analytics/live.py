"""Today's tiles, live: the channel marketers watch, and what refreshes it when orders and chats change."""

from __future__ import annotations

from typing import Any

import msgspec

from commerce.orders.events import OrderUpdated
from engage import chat
from engage.analytics import service
from engage.analytics.events import SALES_TODAY, SalesToday
from engage.platform.events import DomainEvent, domain_event
from engage.platform.identity import Identity, Role
from engage.platform.runtime import Runtime
from engage.realtime import ChannelKind
from engage.realtime.kinds import channel_id

MOVES_TODAY = {OrderUpdated.type, chat.CONVERSATION_STARTED}


def sales_kind(runtime: Runtime) -> ChannelKind:
    settings = runtime.settings

    async def marketing_only(identity: Identity, channel: str) -> bool:
        return identity.has_role(Role.marketer) and channel_id(channel) is None

    async def current(identity: Identity, channel: str) -> Any:
        async with runtime.sessionmaker() as session:
            figures = await service.today(
                session, timezone=settings.push_default_timezone, currency=settings.currency
            )
        return msgspec.to_builtins(figures)

    return ChannelKind(SALES_TODAY, authorize=marketing_only, policy="latest", snapshot=current)


async def refreshed(runtime: Runtime, events: list[DomainEvent]) -> list[DomainEvent]:
    """Today's figures once for a batch that moved them (nothing when none did)."""
    if not any(e.type in MOVES_TODAY for e in events):
        return []
    settings = runtime.settings
    async with runtime.sessionmaker() as session:
        figures = await service.today(
            session, timezone=settings.push_default_timezone, currency=settings.currency
        )
    update = SalesToday(
        date=figures.date,
        currency=figures.currency,
        totals=figures.totals,
        conversations=figures.conversations,
    )
    return [domain_event(update, [SALES_TODAY])]
