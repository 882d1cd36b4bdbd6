"""Refunds and cancellations through the provider, never more than was paid.

An order is worth what its card paid plus what tenders (store credit) paid. A refund is of that worth and
goes back in the proportion it was paid: the card's share through the provider, the rest to the tenders
(their areas follow the refund rows and give it back); once all is refunded each got back exactly what it
paid. The amount is claimed on the order (`refunded_cents` for the card, the refund row for the tenders,
the order row locked through commerce.locks) before the provider is called, so two staff refunding at once
cannot together exceed the worth; a provider failure gives the claim back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce import inventory, locks, orders, returns
from commerce.checkout import LIVE_PAYMENT, own_source
from commerce.checkout.models import Checkout, CheckoutStatus
from commerce.orders import OrderView
from commerce.orders.models import Order, OrderStatus
from commerce.payments.models import Payment, PaymentStatus, Refund
from commerce.payments.providers.base import PaymentProvider, ProviderRefund
from commerce.payments.uncharged import NO_CHARGE, close_uncharged
from engage.platform.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unavailable,
)


@dataclass(frozen=True, slots=True)
class LineReturn:
    line_id: int
    quantity: int


async def _paid_payment(session: AsyncSession, order: Order) -> Payment:
    payment = await session.scalar(
        select(Payment).where(Payment.order_id == order.id, Payment.status == PaymentStatus.succeeded.value)
    )
    if payment is None or payment.intent_id is None:
        raise Conflict("this order has no payment to refund", code="not_paid")
    return payment


def _amount_for_lines(order: Order, returns: Sequence[LineReturn]) -> int:
    by_id = {line.id: line for line in order.lines}
    amount = 0
    for item in returns:
        line = by_id.get(item.line_id)
        if line is None:
            raise InvalidInput(f"order {order.number} has no line {item.line_id}", field="lines")
        if not 0 < item.quantity <= line.quantity - line.returned_quantity:
            raise InvalidInput(
                f"line {item.line_id}: {line.quantity - line.returned_quantity} can still be returned",
                field="lines",
            )
        # the price actually paid per unit (promotions included), rounded down
        amount += line.line_total_cents * item.quantity // line.quantity
    return amount


async def refund(
    session: AsyncSession,
    number: str,
    *,
    actor: str,
    provider: PaymentProvider,
    amount_cents: int | None = None,
    lines: Sequence[LineReturn] = (),
    restock: bool = False,
    reason: str = "",
    cancel: bool = False,
    limit_cents: int | None = None,
) -> OrderView:
    """Refund all (no amount, no lines), an amount, or lines (their paid price); `restock` puts the lines'
    units back in stock (all lines for a full refund). `cancel` ends the order as cancelled. A refund above
    `limit_cents` (the asking staff member's; None: no limit, 0: no refunds at all) is refused."""
    order = await orders.load(session, number, lock=True)
    if not orders.refundable(order):
        raise Conflict(f"an order that is {order.status} cannot be refunded", code="not_refundable")
    parts = await orders.paid_parts(session, order)
    if parts.worth_cents == 0 and amount_cents is None and not lines:  # points covered it: no money back
        await close_uncharged(session, order, actor=actor, reason=reason, cancel=cancel, restock=restock)
        await session.commit()
        return await orders.view_of(session, order, with_timeline=True)
    payment = await _paid_payment(session, order)
    amount, returns = _what_to_refund(order, parts, amount_cents, lines, restock=restock, cancel=cancel)
    if limit_cents is not None and amount > limit_cents:
        if limit_cents == 0:
            raise PermissionDenied(
                "refunds need the refund permission; an admin can grant it", code="no_refunds"
            )
        raise PermissionDenied(
            f"this refund of {amount} is above your limit of {limit_cents} per refund; ask an admin",
            code="over_refund_limit",
            limit_cents=limit_cents,
        )
    claim = await _claim(
        session, order, payment, parts, amount, returns, actor=actor, reason=reason, restock=restock
    )
    result = await _refund_at_provider(session, provider if claim.amount_cents else NO_CHARGE, claim)
    order = await _record_refund(session, claim, result, actor=actor, reason=reason, cancel=cancel)
    return await orders.view_of(session, order, with_timeline=True)


def _what_to_refund(
    order: Order,
    parts: orders.PaidParts,
    amount_cents: int | None,
    lines: Sequence[LineReturn],
    *,
    restock: bool,
    cancel: bool,
) -> tuple[int, Sequence[LineReturn]]:
    """The amount (of the order's worth) and the returned lines asked for, checked against what is left."""
    remaining = parts.remaining_cents
    if amount_cents is None and not lines:  # everything that is left
        amount = remaining
        lines = [
            LineReturn(line.id, line.quantity - line.returned_quantity)
            for line in order.lines
            if line.quantity > line.returned_quantity
        ]
    else:
        paid_for_lines = _amount_for_lines(order, lines) if lines else 0
        amount = amount_cents if amount_cents is not None else paid_for_lines
    if restock and not lines:
        raise InvalidInput("say which lines come back to restock them", field="lines")
    if amount <= 0:
        raise InvalidInput(
            "nothing left to refund" if remaining <= 0 else "refund a positive amount", field="amount_cents"
        )
    if amount > remaining:
        raise Conflict(
            f"at most {remaining} can still be refunded on this order",
            code="over_refund",
            refundable_cents=remaining,
        )
    if cancel and not orders.can(order, OrderStatus.cancelled):
        raise Conflict(
            f"an order that is {order.status} cannot be cancelled; refund it instead", code="not_cancellable"
        )
    return amount, lines


@dataclass(frozen=True, slots=True)
class _Claim:
    """A refund claimed on its order (committed), to be asked of the provider."""

    refund_id: int
    order_number: str
    intent_id: str
    idempotency_key: str
    amount_cents: int  # to the card
    tenders: dict[str, int]
    lines: Sequence[LineReturn]
    restock: bool


async def _claim(
    session: AsyncSession,
    order: Order,
    payment: Payment,
    parts: orders.PaidParts,
    amount: int,
    lines: Sequence[LineReturn],
    *,
    actor: str,
    reason: str,
    restock: bool,
) -> _Claim:
    """Record the refund and claim its money and units on the locked order. Commits."""
    count = await session.scalar(select(func.count(Refund.id)).where(Refund.order_id == order.id))
    card, tenders = parts.split(amount)
    record = Refund(
        order_id=order.id,
        payment_id=payment.id,
        amount_cents=card,
        tenders=tenders,
        idempotency_key=f"refund-{order.number}-{int(count or 0) + 1}",
        reason=reason[:300],
        restock=restock,
        lines=[{"line_id": r.line_id, "quantity": r.quantity} for r in lines],
        actor=actor,
    )
    session.add(record)
    # Claimed now, under the order's lock: a concurrent refund sees both the money and the units.
    order.refunded_cents += card
    by_id = {line.id: line for line in order.lines}
    for item in lines:
        by_id[item.line_id].returned_quantity += item.quantity
    await session.commit()
    assert payment.intent_id is not None
    return _Claim(
        record.id, order.number, payment.intent_id, record.idempotency_key, card, tenders, lines, restock
    )


async def _refund_at_provider(
    session: AsyncSession, provider: PaymentProvider, claim: _Claim
) -> ProviderRefund:
    """Outside any transaction; a refusal gives the claim back."""
    try:
        return await provider.refund(
            claim.intent_id, amount_cents=claim.amount_cents, idempotency_key=claim.idempotency_key
        )
    except DomainError as exc:
        await _give_back_claim(session, claim.refund_id, str(exc.message))
        if isinstance(exc, Unavailable):
            raise
        raise Conflict(
            f"the payment provider refused the refund: {exc.message}", code="refund_failed"
        ) from None


async def _record_refund(
    session: AsyncSession, claim: _Claim, result: ProviderRefund, *, actor: str, reason: str, cancel: bool
) -> Order:
    """The provider refunded: mark it done, restock, note it and move the order on. Commits."""
    locked = await locks.rows(session, order_number=claim.order_number, refund_ids=[claim.refund_id])
    order, (record,) = locked.order, locked.refunds
    assert order is not None
    record.status = "succeeded" if result.status in ("succeeded", "pending") else result.status
    record.provider_refund_id = result.id
    by_id = {line.id: line for line in order.lines}
    for item in claim.lines:
        line = by_id[item.line_id]
        if claim.restock and line.variant_id is not None:
            await inventory.return_to_stock(
                session, line.variant_id, item.quantity, reference=f"order:{order.number}", note="refund"
            )
    to_tenders = "".join(f", {cents} to {source}" for source, cents in claim.tenders.items())
    orders.note(
        session,
        order,
        "refund",
        actor=actor,
        text=f"refunded {claim.amount_cents + sum(claim.tenders.values())} {order.currency.upper()}"
        + (f" ({claim.amount_cents} to the card{to_tenders})" if claim.tenders else "")
        + (" and restocked" if claim.restock else "")
        + (f": {reason}" if reason else ""),
        data={
            "amount_cents": claim.amount_cents,
            "tenders": claim.tenders,
            "refund_id": result.id,
            "lines": record.lines,
        },
    )
    if cancel:
        orders.transition(
            session, order, OrderStatus.cancelled, actor=actor, note=reason or "cancelled and refunded"
        )
    elif (await orders.paid_parts(session, order)).remaining_cents <= 0:
        orders.transition(session, order, OrderStatus.refunded, actor=actor, note=reason)
    else:
        orders.transition(session, order, OrderStatus.partially_refunded, actor=actor, note=reason)
    await session.commit()
    return order


async def _give_back_claim(session: AsyncSession, refund_id: int, why: str) -> None:
    await session.rollback()
    order_id = await session.scalar(select(Refund.order_id).where(Refund.id == refund_id))
    locked = await locks.rows(session, order_id=order_id, refund_ids=[refund_id])
    order, (record,) = locked.order, locked.refunds
    assert order is not None
    order.refunded_cents -= record.amount_cents
    by_id = {line.id: line for line in order.lines}
    for item in record.lines:
        by_id[item["line_id"]].returned_quantity -= item["quantity"]
    record.status = "failed"
    record.reason = f"{record.reason} (failed: {why})"[:300]
    await session.commit()


async def cancel(
    session: AsyncSession,
    number: str,
    *,
    actor: str,
    provider: PaymentProvider,
    reason: str = "",
    limit_cents: int | None = None,
) -> OrderView:
    """Cancel an order: unpaid ones stop their payment and give their stock back; paid, unshipped ones are
    refunded in full (up to `limit_cents`, as `refund`) and restocked."""
    order = await orders.load(session, number, lock=True)
    if order.status in (OrderStatus.paid.value, OrderStatus.fulfilled.value):
        await session.rollback()
        return await refund(
            session,
            number,
            actor=actor,
            provider=provider,
            restock=True,
            reason=reason,
            cancel=True,
            limit_cents=limit_cents,
        )
    if order.status != OrderStatus.pending_payment.value:
        raise Conflict(f"an order that is {order.status} cannot be cancelled", code="not_cancellable")
    live = (
        await session.scalars(
            select(Payment).where(Payment.order_id == order.id, Payment.status.in_(LIVE_PAYMENT))
        )
    ).all()
    await session.commit()
    for payment in live:  # stop them at the provider first, so none can succeed after the cancellation
        if payment.intent_id:
            intent = await provider.cancel(payment.intent_id)
            if intent.status == "succeeded":
                raise Conflict(
                    "the payment has just gone through; refund the order instead", code="already_paid"
                )
    locked = await locks.checkout_rows(session, order.checkout_id)
    checkout, current = locked.checkout, locked.order
    assert checkout is not None and current is not None
    if current.status != OrderStatus.pending_payment.value:
        raise Conflict(f"the order became {current.status} meanwhile", code="not_cancellable")
    stopped = {payment.id for payment in live}
    for row in locked.payments:
        if row.id in stopped and row.status in LIVE_PAYMENT:
            row.status = PaymentStatus.canceled.value
    await end_checkout(session, checkout, CheckoutStatus.expired, reason="order_cancelled")
    orders.transition(
        session, current, OrderStatus.cancelled, actor=actor, note=reason or "cancelled before payment"
    )
    await session.commit()
    return await orders.view_of(session, current, with_timeline=True)


async def cancel_own(
    session: AsyncSession,
    number: str,
    *,
    owner: str,
    user_id: int | None,
    provider: PaymentProvider,
    reason: str = "",
) -> OrderView:
    """A shopper cancels their own order, as `cancel` (another shopper's order is NotFound)."""
    await orders.shopper_order(session, number, owner=owner, user_id=user_id)
    await session.rollback()
    return await cancel(
        session,
        number,
        actor=f"user:{user_id}" if user_id is not None else owner,
        provider=provider,
        reason=reason or "cancelled by the shopper",
    )


async def refund_return(
    session: AsyncSession,
    return_id: int,
    *,
    actor: str,
    provider: PaymentProvider,
    restock: bool,
    limit_cents: int | None,
) -> returns.ReturnRequest:
    """A return's parcel arrived: close the return (once: a second receipt is a Conflict) and refund its
    lines at the price paid, restocking them if asked. A refund that fails opens the return again."""
    row = await returns.close(session, return_id, returns.ReturnStatus.refunded, actor=actor)
    try:
        await refund(
            session,
            row.order_number,
            actor=actor,
            provider=provider,
            lines=[LineReturn(item["line_id"], item["quantity"]) for item in row.lines],
            restock=restock,
            reason=f"return RMA-{row.id}",
            limit_cents=limit_cents,
        )
    except Exception:
        await session.rollback()
        await returns.reopen(session, return_id)
        raise
    return row


async def end_checkout(
    session: AsyncSession, checkout: Checkout, status: CheckoutStatus, *, reason: str
) -> None:
    """Close a checkout (locked by the caller) and give back the stock it holds for itself. Does not
    commit."""
    for hold in await inventory.holds_from(session, own_source(checkout.id)):
        if hold.status == inventory.ReservationStatus.active.value:
            await inventory.release(session, hold.id, reason=reason)
    if checkout.status == CheckoutStatus.open.value:
        checkout.status = status.value


async def refund_unfulfillable(session: AsyncSession, payment_id: int, *, provider: PaymentProvider) -> None:
    """Money that arrived for an order that could not be fulfilled goes straight back."""
    payment = await session.get(Payment, payment_id)
    if payment is None or payment.intent_id is None:
        raise NotFound(f"payment {payment_id}")
    order = (await locks.rows(session, order_id=payment.order_id)).order
    assert order is not None
    already = await session.scalar(select(Refund.id).where(Refund.payment_id == payment.id))
    if already is not None:
        await session.commit()
        return
    record = Refund(
        order_id=order.id,
        payment_id=payment.id,
        amount_cents=payment.amount_cents,
        idempotency_key=f"refund-{order.number}-unfulfillable-{payment.attempt}",
        reason="paid for an order that could not be fulfilled",
        actor="system",
    )
    session.add(record)
    await session.commit()
    result = await provider.refund(
        payment.intent_id, amount_cents=payment.amount_cents, idempotency_key=record.idempotency_key
    )
    order = (await locks.rows(session, order_id=payment.order_id)).order
    assert order is not None
    record.status, record.provider_refund_id = "succeeded", result.id
    order.refunded_cents += payment.amount_cents
    orders.note(
        session, order, "refund", actor="system", text=f"refunded {payment.amount_cents}: {record.reason}"
    )
    await session.commit()


__all__ = ["LineReturn", "cancel", "end_checkout", "refund", "refund_unfulfillable"]
