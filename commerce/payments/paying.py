"""Paying a checkout: one attempt at a time, each with its own idempotency key at the provider.

1. In a short transaction (checkout row locked): check, hold the stock again if needed, price now, place
   the order (once per checkout), record the attempt as `creating` (the recovery point). Commit.
2. Outside any transaction: ask the provider (create the intent with its method attached, then confirm).
3. Settle: record what the provider says, drive the order (commerce.payments.settlement).

A repeat while an attempt is under way answers with that attempt instead of starting another; an attempt
left `creating` by a crash is retried with its own key, so the provider never charges twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from commerce.checkout import checkouts, commit_adjustments
from commerce.checkout.checkouts import LIVE_PAYMENT
from commerce.checkout.models import CheckoutStatus
from commerce.checkout.policy import ShopPolicy
from commerce.orders import placing, states
from commerce.orders.models import Order
from commerce.payments import customers, refunds, settlement
from commerce.payments.models import Payment, PaymentStatus
from commerce.payments.providers.base import PaymentDeclined, PaymentProvider
from commerce.payments.settlement import PayOutcome
from commerce.payments.uncharged import NO_CHARGE
from commerce.pricing import Promotion
from engage.platform.clock import utcnow
from engage.platform.errors import Conflict, InvalidInput

# An attempt still `creating` after this long lost its process; the next request retries it.
RECOVER_AFTER = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class Payer:
    owner: str
    user_id: int | None
    email: str | None = None
    name: str = ""


async def _latest(session: AsyncSession, order_id: int) -> Payment | None:
    return await session.scalar(
        select(Payment)
        .where(Payment.order_id == order_id)
        .order_by(Payment.attempt.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )


async def pay(
    session: AsyncSession,
    checkout_id: str,
    payer: Payer,
    *,
    payment_method: str,
    save_method: bool,
    expected_total_cents: int | None,
    policy: ShopPolicy,
    provider: PaymentProvider,
    promotions: Sequence[Promotion] = (),
) -> PayOutcome:
    payment_method = payment_method.strip()
    if len(payment_method) > 200:
        raise InvalidInput("choose a payment method", field="payment_method")

    # 1. check and record the attempt
    checkout = await checkouts.get_for(session, checkout_id, payer.owner, lock=True)
    order = await session.scalar(
        select(Order).where(Order.checkout_id == checkout.id).options(selectinload(Order.lines))
    )
    if checkout.status == CheckoutStatus.completed.value and order is not None:
        outcome = settlement.outcome_of(order, await _latest(session, order.id), checkout.id)
        await session.commit()
        return outcome
    if checkout.status != CheckoutStatus.open.value:
        raise Conflict(
            f"this checkout has {checkout.status}; start again from your cart",
            code=f"checkout_{checkout.status}",
        )
    recovering: Payment | None = None
    if order is not None:
        latest = await _latest(session, order.id)
        if latest is not None and latest.status in LIVE_PAYMENT:
            stuck = (
                latest.status == PaymentStatus.creating.value and utcnow() - latest.created_at > RECOVER_AFTER
            )
            if not stuck:
                outcome = settlement.outcome_of(order, latest, checkout.id)
                await session.commit()
                return outcome
            recovering = latest
    if recovering is None:
        if missing := checkouts.missing_for_payment(checkout):
            raise InvalidInput(f"give your {', '.join(missing).replace('_', ' ')} first", missing=missing)
        await checkouts.ensure_held(session, checkout, policy=policy, promotions=promotions)
        if expected_total_cents is not None and expected_total_cents != checkout.total_cents:
            await session.commit()  # keep the new prices and holds; the shopper reviews them
            raise Conflict(
                "the total changed since you last saw it; check it and pay again",
                code="price_changed",
                total_cents=checkout.total_cents,
            )
        if not payment_method and checkout.total_cents > 0:  # nothing to charge needs no card
            raise InvalidInput("choose a payment method", field="payment_method")
        order = await placing.place(session, checkout, actor=payer.owner)
        await commit_adjustments(session, checkout, order, policy.adjustments)
        attempts = await session.scalar(select(func.count(Payment.id)).where(Payment.order_id == order.id))
        attempt = int(attempts or 0) + 1
        recovering = Payment(
            order_id=order.id,
            attempt=attempt,
            provider=provider.name,
            idempotency_key=f"{checkout.id}-{attempt}",
            amount_cents=order.total_cents,
            currency=order.currency,
        )
        session.add(recovering)
        states.note(session, order, "payment", actor=payer.owner, text=f"payment {attempt} started")
    assert order is not None
    await session.commit()
    payment_id, key = recovering.id, recovering.idempotency_key

    # 2. the provider, outside any transaction
    if recovering.amount_cents == 0:  # the adjustments (store credit, points) covered it: no card, no call
        provider = NO_CHARGE
    intent, error = None, ""
    try:
        customer = None
        if payer.user_id is not None and payer.email:
            customer = await customers.ensure_customer(
                session, provider, user_id=payer.user_id, email=payer.email, name=payer.name
            )
            if customer and save_method:
                await provider.save_method(customer, payment_method)
        intent = await provider.create_intent(
            amount_cents=recovering.amount_cents,
            currency=recovering.currency,
            payment_method=payment_method,
            customer=customer,
            metadata={
                "order_number": order.number,
                "payment_id": str(payment_id),
                "checkout_id": checkout.id,
            },
            idempotency_key=key,
        )
    except (PaymentDeclined, InvalidInput) as exc:
        error = exc.message

    # 3. settle
    settled = await settlement.apply(session, payment_id, intent, actor=payer.owner, error=error)
    await session.commit()
    if settled.refund_payment_id is not None:
        await refunds.refund_unfulfillable(session, settled.refund_payment_id, provider=provider)
    return settled.outcome


async def confirm(
    session: AsyncSession, checkout_id: str, payer: Payer, *, provider: PaymentProvider
) -> PayOutcome:
    """After the 3-D Secure step (or any time): ask the provider again and settle what it says."""
    checkout = await checkouts.get_for(session, checkout_id, payer.owner)
    order = await session.scalar(select(Order).where(Order.checkout_id == checkout.id))
    if order is None:
        raise Conflict("nothing has been paid on this checkout yet", code="not_paid")
    latest = await _latest(session, order.id)
    await session.commit()
    if latest is None or latest.intent_id is None or latest.status not in LIVE_PAYMENT:
        order = await session.scalar(
            select(Order).where(Order.id == order.id).execution_options(populate_existing=True)
        )
        assert order is not None
        return settlement.outcome_of(order, latest, checkout.id)
    intent = await provider.retrieve(latest.intent_id)
    settled = await settlement.apply(session, latest.id, intent, actor=payer.owner)
    await session.commit()
    if settled.refund_payment_id is not None:
        await refunds.refund_unfulfillable(session, settled.refund_payment_id, provider=provider)
    return settled.outcome


async def live_intent(session: AsyncSession, checkout_id: str, owner: str) -> str:
    """The intent waiting for the shopper's authentication (the test provider's 3-D Secure page)."""
    checkout = await checkouts.get_for(session, checkout_id, owner)
    intent_id = await session.scalar(
        select(Payment.intent_id)
        .join(Order, Order.id == Payment.order_id)
        .where(Order.checkout_id == checkout.id, Payment.status == PaymentStatus.requires_action.value)
    )
    if intent_id is None:
        raise Conflict("no payment of this checkout is waiting for authentication", code="no_action")
    return intent_id
