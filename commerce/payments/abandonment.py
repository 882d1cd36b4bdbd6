"""Checkouts whose hold ran out: their payment is stopped (or found paid), their stock given back, their
unpaid order cancelled. A payment the provider cannot stop yet (processing) keeps its checkout for a later
round. Run by the periodic job before the generic reservation expiry."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce import locks, orders
from commerce.checkout import LIVE_PAYMENT
from commerce.checkout.models import Checkout, CheckoutStatus
from commerce.orders.models import Order, OrderStatus
from commerce.payments import refunds, settlement
from commerce.payments.models import Payment, PaymentStatus
from commerce.payments.paying import RECOVER_AFTER
from commerce.payments.providers.base import PaymentProvider
from engage.platform.clock import utcnow
from engage.platform.errors import DomainError

log = logging.getLogger("engage.payments")


async def expire_checkouts(
    session: AsyncSession, provider: PaymentProvider, *, now: datetime | None = None, limit: int = 100
) -> int:
    now = now or utcnow()
    ids = (
        await session.scalars(
            select(Checkout.id)
            .where(Checkout.status == CheckoutStatus.open.value, Checkout.expires_at <= now)
            .order_by(Checkout.expires_at)
            .limit(limit)
        )
    ).all()
    await session.commit()
    expired = 0
    for checkout_id in ids:
        try:
            expired += await _expire(session, provider, checkout_id, now)
        except DomainError as exc:  # the provider did not answer: next round
            await session.rollback()
            log.warning("could not expire checkout %s yet: %s", checkout_id, exc.message)
    return expired


async def _expire(session: AsyncSession, provider: PaymentProvider, checkout_id: str, now: datetime) -> int:
    order = await session.scalar(select(Order).where(Order.checkout_id == checkout_id))
    live: Sequence[Payment] = []
    if order is not None:
        live = (
            await session.scalars(
                select(Payment).where(Payment.order_id == order.id, Payment.status.in_(LIVE_PAYMENT))
            )
        ).all()
    await session.commit()
    for payment in live:
        if payment.intent_id is None:
            if now - payment.created_at < RECOVER_AFTER:
                return 0  # a payment request is running right now: look again next round
            settled = await settlement.apply(session, payment.id, None, actor="system", error="abandoned")
        else:
            intent = await provider.retrieve(payment.intent_id)
            if intent.status not in ("succeeded", "failed", "canceled"):
                intent = await provider.cancel(payment.intent_id)
            settled = await settlement.apply(session, payment.id, intent, actor="system")
        await session.commit()
        if settled.refund_payment_id is not None:
            await refunds.refund_unfulfillable(session, settled.refund_payment_id, provider=provider)
        if settled.outcome.status == "paid":
            return 0  # it went through after all

    locked = await locks.checkout_rows(session, checkout_id)
    checkout, order = locked.checkout, locked.order
    if checkout is None or checkout.status != CheckoutStatus.open.value or checkout.expires_at > now:
        await session.rollback()
        return 0
    if any(p.status in LIVE_PAYMENT for p in locked.payments):
        await session.rollback()  # a payment the provider could not stop (or a new one): look again later
        return 0
    await refunds.end_checkout(session, checkout, CheckoutStatus.expired, reason="expired")
    if order is not None and order.status == OrderStatus.pending_payment.value:
        orders.transition(
            session, order, OrderStatus.cancelled, actor="system", note="payment not completed in time"
        )
    await session.commit()
    return 1


__all__ = ["PaymentStatus", "expire_checkouts"]
