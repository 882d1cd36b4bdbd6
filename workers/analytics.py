"""Analytics' sink: today's tiles move when orders and conversations do."""

from __future__ import annotations

from engage.analytics.live import refreshed
from engage.platform.events import DomainEvent, Sink
from engage.services import Services


def sales_today_sink(services: Services) -> Sink:
    async def sink(events: list[DomainEvent]) -> None:
        if updates := await refreshed(services.runtime, events):
            await services.realtime.publishing.deliver(updates)

    return sink
