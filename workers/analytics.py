"""Analytics' jobs and sink: the kept figures (sales and products per day, buyers) follow the
orders; today's tiles move when orders and conversations do.

- The sink: each batch of `order.updated` queues `roll_up_sales` for those orders (recomputing a day is
  idempotent, so duplicates and reordering do no harm), and publishes today's tiles on `sales-today`.
- `sweep_sales_rollup` (every minute, and at start): what the orders changed in the last 20 minutes touch
  (an event lost in a crash); at the first start on a shop with orders, or after the shop's time zone
  changed, everything is built.
- The funnel: `funnel_sink` marks product views and cart additions as they commit; `keep_funnel_days`
  (every 5 minutes, and at start) keeps the days that ended.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from commerce.orders.events import OrderUpdated
from engage.analytics import funnel, rollup
from engage.analytics.live import refreshed
from engage.platform.events import DomainEvent, Sink
from engage.services import Services


def _zone(services: Services) -> ZoneInfo:
    return ZoneInfo(services.settings.push_default_timezone)


async def roll_up_sales(ctx: dict[str, Any], order_ids: list[int]) -> int:
    services: Services = ctx["services"]
    async with services.sessionmaker() as session:
        return await rollup.refresh_orders(session, order_ids, zone=_zone(services))


async def sweep_sales_rollup(ctx: dict[str, Any]) -> int:
    services: Services = ctx["services"]
    zone = _zone(services)
    async with services.sessionmaker() as session:
        if await rollup.needs_rebuild(session, zone):
            return await rollup.rebuild(session, zone=zone)
        return await rollup.sweep(session, zone=zone)


def sales_today_sink(services: Services) -> Sink:
    async def sink(events: list[DomainEvent]) -> None:
        orders = sorted({int(e.data["order_id"]) for e in events if e.type == OrderUpdated.type})
        if orders:
            await services.runtime.jobs.enqueue("roll_up_sales", orders)
        if updates := await refreshed(services.runtime, events):
            await services.realtime.publishing.deliver(updates)

    return sink


async def keep_funnel_days(ctx: dict[str, Any]) -> int:
    services: Services = ctx["services"]
    async with services.sessionmaker() as session:
        return await funnel.keep(session, zone=_zone(services))


def funnel_sink(services: Services) -> Sink:
    async def sink(events: list[DomainEvent]) -> None:
        if marks := funnel.marks_of(events):
            async with services.sessionmaker() as session:
                await funnel.mark(session, marks, zone=_zone(services))

    return sink
