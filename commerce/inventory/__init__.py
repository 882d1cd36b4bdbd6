"""Inventory: stock per variant, its ledger, and reservations. The public API of the domain.

Every function works inside the caller's transaction and never commits; events (`stock.changed`,
`stock.low`, `reservation.released`, `reservation.consumed`) are published when that transaction commits.

A flash sale (or anything else that holds stock for a shopper) uses it like this::

    hold = await inventory.reserve(session, variant_id, 1, owner=identity.owner_key,
                                   source=f"flash:{sale_id}", hold_seconds=settings.flash_claim_hold_seconds)
    await session.commit()          # OutOfStock (a Conflict) when nothing is left

The shopper's checkout then adopts the owner's active holds for its lines (`checkout` calls
`holds_of(owner)`) and `consume`s them when the payment succeeds. A hold that is released or expires
records `reservation.released` with its `source`, so the flash sale can put the unit back on sale.
"""

from commerce.inventory.models import MovementKind, Reservation, ReservationStatus, StockLevel, StockMovement
from commerce.inventory.reservations import Hold, consume, expire_due, extend, hand_over, release, reserve
from commerce.inventory.reservations import get as get_hold
from commerce.inventory.reservations import of_owner as holds_of
from commerce.inventory.reservations import of_source as holds_from
from commerce.inventory.stock import (
    LedgerCheck,
    Level,
    OutOfStock,
    adjust,
    check_ledger,
    get_level,
    levels,
    recompute,
    restock,
    return_to_stock,
    sell,
    set_threshold,
    track,
)

__all__ = [
    "Hold",
    "LedgerCheck",
    "Level",
    "MovementKind",
    "OutOfStock",
    "Reservation",
    "ReservationStatus",
    "StockLevel",
    "StockMovement",
    "adjust",
    "check_ledger",
    "consume",
    "expire_due",
    "extend",
    "get_hold",
    "get_level",
    "hand_over",
    "holds_from",
    "holds_of",
    "levels",
    "recompute",
    "release",
    "reserve",
    "restock",
    "return_to_stock",
    "sell",
    "set_threshold",
    "track",
]
