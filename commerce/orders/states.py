"""The order state machine. Every change goes through `transition`: checked, timed, on the timeline, announced.

pending_payment -> paid -> fulfilled -> shipped -> delivered
pending_payment | paid | fulfilled -> cancelled
paid | fulfilled | shipped | delivered | partially_refunded -> partially_refunded | refunded
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from commerce.orders.events import OrderUpdated
from commerce.orders.models import Order, OrderEvent, OrderStatus
from engage.platform.clock import utcnow
from engage.platform.errors import Conflict
from engage.platform.events import record, user_channel

S = OrderStatus
_REFUNDABLE = {S.paid, S.fulfilled, S.shipped, S.delivered, S.partially_refunded}

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.pending_payment: frozenset({S.paid, S.cancelled}),
    S.paid: frozenset({S.fulfilled, S.shipped, S.cancelled, S.partially_refunded, S.refunded}),
    S.fulfilled: frozenset({S.shipped, S.cancelled, S.partially_refunded, S.refunded}),
    S.shipped: frozenset({S.delivered, S.partially_refunded, S.refunded}),
    S.delivered: frozenset({S.partially_refunded, S.refunded}),
    # A partly refunded order still ships; its fulfilment goes on.
    S.partially_refunded: frozenset({S.partially_refunded, S.refunded, S.fulfilled, S.shipped, S.delivered}),
    S.cancelled: frozenset(),
    S.refunded: frozenset(),
}
_STAMPS = {
    S.paid: "paid_at",
    S.shipped: "shipped_at",
    S.delivered: "delivered_at",
    S.cancelled: "cancelled_at",
}


def can(order: Order, to: OrderStatus) -> bool:
    return to in TRANSITIONS[OrderStatus(order.status)]


def refundable(order: Order) -> bool:
    return OrderStatus(order.status) in _REFUNDABLE


def transition(
    session: AsyncSession,
    order: Order,
    to: OrderStatus,
    *,
    actor: str,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    """Move `order` to `to` (Conflict if the machine does not allow it). Does not commit."""
    before = OrderStatus(order.status)
    if to not in TRANSITIONS[before]:
        raise Conflict(f"an order that is {before.value} cannot become {to.value}", code="invalid_transition")
    order.status = to.value
    if to in _STAMPS:
        setattr(order, _STAMPS[to], utcnow())
    order.updated_at = utcnow()
    session.add(
        OrderEvent(
            order_id=order.id,
            kind="status",
            from_status=before.value,
            to_status=to.value,
            actor=actor,
            note=note[:500],
            data=data or {},
        )
    )
    announce(session, order)


def note(
    session: AsyncSession,
    order: Order,
    kind: str,
    *,
    actor: str,
    text: str,
    data: dict[str, Any] | None = None,
) -> None:
    """A timeline entry that is not a status change (payment attempt, refund, tracking update)."""
    session.add(OrderEvent(order_id=order.id, kind=kind, actor=actor, note=text[:500], data=data or {}))


def announce(session: AsyncSession, order: Order) -> None:
    """`order.updated`, on `user:{id}` for a signed-in shopper's order (guests have no channel)."""
    record(
        session,
        OrderUpdated(
            order_id=order.id,
            number=order.number,
            status=order.status,
            total_cents=order.total_cents,
            refunded_cents=order.refunded_cents,
            currency=order.currency,
            tracking_number=order.tracking_number,
            carrier=order.carrier,
            expected_delivery=order.expected_delivery.isoformat() if order.expected_delivery else None,
        ),
        channels=[user_channel(order.user_id)] if order.user_id is not None else [],
    )
