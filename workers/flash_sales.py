"""Flash-sale jobs: announce starts and ends, keep the gate in step with the database, and settle claims
whose holds ended (paid: sold; released or expired: the unit goes back on sale)."""

from __future__ import annotations

import logging
from typing import Any

from commerce.inventory.events import ReservationConsumed, ReservationReleased
from engage.flash_sales import claims
from engage.flash_sales.timeline import announce_transitions, live_sale_ids
from engage.platform.events import DomainEvent, Sink
from engage.services import Services

log = logging.getLogger("engage.flash_sales")


async def announce_sale_transitions(ctx: dict[str, Any]) -> None:
    async with ctx["runtime"].sessionmaker() as session:
        await announce_transitions(session)


async def reconcile_flash_gates(ctx: dict[str, Any]) -> None:
    """Set each live sale's gate counters from the database (the source of truth)."""
    services: Services = ctx["services"]
    async with services.sessionmaker() as session:
        for sale_id in await live_sale_ids(session):
            await claims.load_gate(session, services.flash_gate, sale_id, overwrite=True)


def flash_sale_sink(services: Services) -> Sink:
    runtime, gate = services.runtime, services.flash_gate

    async def settle(events: list[DomainEvent]) -> None:
        for event in events:
            if event.type not in (ReservationReleased.type, ReservationConsumed.type):
                continue
            sale_id = claims.sale_of_source(str(event.data.get("source", "")))
            if sale_id is None:
                continue
            async with runtime.sessionmaker() as session:
                ended = await claims.hold_ended(
                    session, int(event.data["reservation_id"]), paid=event.type == ReservationConsumed.type
                )
                if ended is None:
                    continue
                if ended.returned:
                    await gate.give_back(ended.sale_id, ended.item_id, ended.owner_key)
                elif ended.late_sale:
                    await claims.load_gate(session, gate, ended.sale_id, overwrite=True)

    return settle
