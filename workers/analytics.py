"""Analytics' jobs and sink: sales kept per quarter hour follow the orders; today's tiles move when orders
and conversations do.

- The sink: each batch of `order.updated` queues `roll_up_sales` for those orders (recomputing a quarter is
  idempotent, so duplicates and reordering do no harm), and publishes today's tiles on `sales-today`.
- `sweep_sales_rollup` (every minute, and at start): quarters of orders changed in the last 20 minutes (an
  event lost in a crash); at the first start on a shop with orders, every quarter is built.
"""

from __future__ import annotations

from typing import Any

from commerce.orders.events import OrderUpdated
from engage.analytics import rollup
from engage.analytics.live import refreshed
from engage.platform.events import DomainEvent, Sink
from engage.services import Services


async def roll_up_sales(ctx: dict[str, Any], order_ids: list[int]) -> int:
    services: Services = ctx["services"]
    async with services.sessionmaker() as session:
        return await rollup.refresh_orders(session, order_ids)


async def sweep_sales_rollup(ctx: dict[str, Any]) -> int:
    services: Services = ctx["services"]
    async with services.sessionmaker() as session:
        if await rollup.needs_rebuild(session):
            return await rollup.rebuild(session)
        return await rollup.sweep(session)


def sales_today_sink(services: Services) -> Sink:
    async def sink(events: list[DomainEvent]) -> None:
        orders = sorted({int(e.data["order_id"]) for e in events if e.type == OrderUpdated.type})
        if orders:
            await services.runtime.jobs.enqueue("roll_up_sales", orders)
        if updates := await refreshed(services.runtime, events):
            await services.realtime.publishing.deliver(updates)

    return sink
