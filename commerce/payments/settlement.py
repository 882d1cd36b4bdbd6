"""Applying what the provider says about a payment to our records, forward only.

The pay request, the 3-D Secure return and webhooks all end here, in any order and any number of times:
the checkout, order and payment rows are locked (commerce.locks), a final status never changes again, and
the order moves only along its machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from commerce import inventory, locks, orders
from commerce.cart import remove_lines
from commerce.catalog.models import Product, Variant
from commerce.checkout import own_source, remember_address
from commerce.checkout.models import Checkout, CheckoutStatus
from commerce.orders.models import Order, OrderStatus
from commerce.payments.models import FINAL_PAYMENT_STATUSES, Payment, PaymentStatus
from commerce.payments.providers.base import Intent

_FROM_INTENT = {
    "succeeded": PaymentStatus.succeeded,
    "requires_action": PaymentStatus.requires_action,
    "processing": PaymentStatus.processing,
    "failed": PaymentStatus.failed,
    "canceled": PaymentStatus.canceled,
}


class PayOutcome(msgspec.Struct):
    """What a shopper's client needs after a payment step."""

    status: str  # paid | requires_action | processing | failed
    checkout_id: str
    order_number: str | None
    total_cents: int
    currency: str
    attempt: int | None = None
    intent_id: str | None = None
    client_secret: str | None = None  # for the 3-D Secure step (Stripe.js handleNextAction)
    message: str = ""


@dataclass(frozen=True, slots=True)
class Settled:
    outcome: PayOutcome
    # set when money arrived for an order that cannot be fulfilled: refund this payment after commit
    refund_payment_id: int | None = None


def outcome_of(order: Order, payment: Payment | None, checkout_id: str) -> PayOutcome:
    if order.status not in (OrderStatus.pending_payment.value, OrderStatus.cancelled.value):
        status, message = "paid", "thank you: your order is confirmed"
    elif payment is None:
        status, message = "failed", ""
    elif payment.status == PaymentStatus.requires_action.value:
        status, message = "requires_action", "your bank asks you to confirm this payment"
    elif payment.status in (PaymentStatus.creating.value, PaymentStatus.processing.value):
        status, message = "processing", "the payment is being processed"
    elif order.status == OrderStatus.cancelled.value:
        status, message = "failed", "this order was cancelled"
    else:
        status, message = "failed", payment.error or "the payment did not go through"
    return PayOutcome(
        status=status,
        checkout_id=checkout_id,
        order_number=order.number,
        total_cents=order.total_cents,
        currency=order.currency,
        attempt=payment.attempt if payment else None,
        intent_id=payment.intent_id if payment else None,
        client_secret=payment.client_secret if status == "requires_action" and payment else None,
        message=message,
    )


async def apply(
    session: AsyncSession, payment_id: int, intent: Intent | None, *, actor: str, error: str = ""
) -> Settled:
    """Record `intent`'s status on the payment and drive the order. `intent=None`: refused before one
    existed (`error` says why). Does not commit."""
    locked = await locks.payment_rows(session, payment_id)  # checkout, order, payment: the one order
    checkout, order, (payment,) = locked.checkout, locked.order, locked.payments
    assert checkout is not None and order is not None
    refund_payment_id = None
    if intent is not None and payment.intent_id is None:
        payment.intent_id = intent.id
    if PaymentStatus(payment.status) not in FINAL_PAYMENT_STATUSES:
        new = _FROM_INTENT.get(intent.status) if intent is not None else PaymentStatus.failed
        if new is PaymentStatus.succeeded:
            payment.status = new.value
            payment.client_secret = None
            payment.card_fingerprint = intent.card_fingerprint if intent is not None else ""
            orders.note(
                session,
                order,
                "payment",
                actor=actor,
                text=f"payment {payment.attempt} succeeded",
                data={"intent_id": payment.intent_id, "amount_cents": payment.amount_cents},
            )
            if not await _complete(session, order, checkout, actor=actor):
                refund_payment_id = payment.id
        elif new is PaymentStatus.requires_action:
            payment.status = new.value
            payment.client_secret = intent.client_secret if intent else None
        elif new is PaymentStatus.processing:
            payment.status = new.value
        elif new in (PaymentStatus.failed, PaymentStatus.canceled):
            payment.status = new.value
            payment.client_secret = None
            payment.error = (intent.error if intent is not None and intent.error else error)[
                :300
            ] or "declined"
            orders.note(
                session,
                order,
                "payment",
                actor=actor,
                text=f"payment {payment.attempt} {new.value}: {payment.error}",
                data={"intent_id": payment.intent_id},
            )
            await _give_back_holds(session, checkout, reason="payment_failed")
    return Settled(outcome_of(order, payment, order.checkout_id), refund_payment_id)


async def _give_back_holds(session: AsyncSession, checkout: Checkout, *, reason: str) -> None:
    """A failed payment releases the checkout's own holds; a retry holds the stock again (if still there).
    Holds the shopper brought along (a flash claim) keep their own timer."""
    for hold in await inventory.holds_from(session, own_source(checkout.id)):
        if hold.status == inventory.ReservationStatus.active.value:
            await inventory.release(session, hold.id, reason=reason)
    released = {h.id for h in await inventory.holds_from(session, own_source(checkout.id))}
    checkout.hold_ids = [h for h in checkout.hold_ids if h not in released]


async def _complete(session: AsyncSession, order: Order, checkout: Checkout, *, actor: str) -> bool:
    """The money is in: sell the held units and mark the order paid. False when it cannot be fulfilled
    (cancelled meanwhile, or its stock gone after the hold ran out): the caller refunds it."""
    if order.status != OrderStatus.pending_payment.value:
        return False
    try:
        async with session.begin_nested():
            for hold_id in sorted(checkout.hold_ids):
                await inventory.consume(session, hold_id, reference=f"order:{order.number}")
            held: dict[int, int] = {}
            for hold_id in checkout.hold_ids:
                hold = await inventory.get_hold(session, hold_id)
                if hold is not None:
                    held[hold.variant_id] = held.get(hold.variant_id, 0) + hold.quantity
            for line in sorted(order.lines, key=lambda line: line.variant_id or 0):
                short = line.quantity - held.get(line.variant_id or 0, 0)
                if short > 0 and line.variant_id is not None:  # not covered by a hold: sell from stock
                    await inventory.sell(session, line.variant_id, short, reference=f"order:{order.number}")
    except inventory.OutOfStock as exc:
        orders.transition(
            session,
            order,
            OrderStatus.cancelled,
            actor="system",
            note=f"paid after the stock ran out ({exc.message}); the payment is refunded",
        )
        checkout.status = CheckoutStatus.completed.value
        return False
    orders.transition(session, order, OrderStatus.paid, actor=actor, note="payment received")
    checkout.status = CheckoutStatus.completed.value
    if order.user_id is not None:
        await remember_address(session, order.user_id, order.shipping_address)
    await remove_lines(session, order.owner_key, [line.variant_id for line in order.lines if line.variant_id])
    for line in order.lines:
        if line.variant_id is not None:
            await session.execute(
                update(Product)
                .where(
                    Product.id
                    == select(Variant.product_id).where(Variant.id == line.variant_id).scalar_subquery()
                )
                .values(popularity=Product.popularity + line.quantity)
                .execution_options(synchronize_session=False)
            )
    return True
