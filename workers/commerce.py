"""Commerce jobs and event sinks: thin doors onto commerce's services."""

from __future__ import annotations

import logging
from typing import Any

from commerce.catalog.events import ProductChanged
from commerce.inventory.events import StockChanged
from engage.platform.events import DomainEvent, Sink
from engage.platform.runtime import Runtime
from engage.services import Services

log = logging.getLogger("engage.commerce")


async def release_expired_holds(ctx: dict[str, Any]) -> int:
    """Give back stock held by reservations whose time ran out (checkouts first: they may have a payment)."""
    from commerce import inventory
    from commerce.payments.abandonment import expire_checkouts

    services: Services = ctx["services"]
    released = 0
    async with services.sessionmaker() as session:
        expired = await expire_checkouts(session, services.payments)
        if expired:
            log.info("expired %d abandoned checkouts", expired)
        while True:
            batch = await inventory.expire_due(session, limit=200)
            await session.commit()
            released += batch
            if batch < 200:
                break
    if released:
        log.info("released %d expired reservations", released)
    return released


async def delete_erased_payment_customers(ctx: dict[str, Any]) -> int:
    """Erased accounts' customers at the payment provider (and the cards saved there) are deleted there."""
    from commerce.payments.customers import delete_erased

    services: Services = ctx["services"]
    async with services.sessionmaker() as session:
        return await delete_erased(session, services.payments)


async def forget_old_idempotency_keys(ctx: dict[str, Any]) -> int:
    """Stored answers to `Idempotency-Key` requests are kept two days, then dropped."""
    from engage.platform.idempotency import forget_older_than

    runtime: Runtime = ctx["runtime"]
    async with runtime.sessionmaker() as session:
        return await forget_older_than(session, days=2)


def _flips_availability(event: DomainEvent) -> bool:
    """Sold out <-> in stock changes what the listing's "in stock" filter returns."""
    stock = StockChanged.of(event)
    return stock is not None and stock.flips_availability


def catalog_cache_sink(services: Services) -> Sink:
    """Drop cached catalog pages when a product changes or a variant sells out / comes back."""

    async def sink(events: list[DomainEvent]) -> None:
        if any(e.type == ProductChanged.type or _flips_availability(e) for e in events):
            await services.catalog_cache.invalidate()

    return sink
