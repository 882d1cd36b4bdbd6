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

from commerce import checkout as checkouts
from commerce import orders
from commerce.checkout import LIVE_PAYMENT, ShopPolicy, commit_adjustments
from commerce.checkout.models import Checkout, CheckoutStatus
from commerce.orders.models import Order
from commerce.payments import customers, refunds, settlement
from commerce.payments.models import Payment, PaymentStatus
from commerce.payments.providers.base import Intent, PaymentDeclined, PaymentProvider
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
    """Record the attempt (1), ask the provider (2), settle (3): the steps of this module's docstring."""
    payment_method = payment_method.strip()
    if len(payment_method) > 200:
        raise InvalidInput("choose a payment method", field="payment_method")
    attempt = await _place_order_and_attempt(
        session,
        checkout_id,
        payer,
        payment_method=payment_method,
        expected_total_cents=expected_total_cents,
        policy=policy,
        provider=provider,
        promotions=promotions,
    )
    if isinstance(attempt, PayOutcome):  # paid already, or an attempt is under way
        return attempt
    if attempt.amount_cents == 0:  # the adjustments (store credit, points) covered it: no card, no call
        provider = NO_CHARGE
    intent, error = await _call_provider(
        session, provider, attempt, payer, payment_method=payment_method, save_method=save_method
    )
    return await _settle(session, provider, attempt.payment_id, intent, actor=payer.owner, error=error)


@dataclass(frozen=True, slots=True)
class _Attempt:
    """A payment recorded as `creating` (committed): what the provider is asked to charge."""

    payment_id: int
    idempotency_key: str
    amount_cents: int
    currency: str
    order_number: str
    checkout_id: str


async def _place_order_and_attempt(
    session: AsyncSession,
    checkout_id: str,
    payer: Payer,
    *,
    payment_method: str,
    expected_total_cents: int | None,
    policy: ShopPolicy,
    provider: PaymentProvider,
    promotions: Sequence[Promotion],
) -> _Attempt | PayOutcome:
    """1. With the checkout row locked: the answer if it is paid or an attempt is live; else the attempt to
    make (a stuck one again, or a new one on the order placed now). Commits."""
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
    payment = await _live_attempt(session, order) if order is not None else None
    if order is not None and payment is not None and not _stuck(payment):
        outcome = settlement.outcome_of(order, payment, checkout.id)
        await session.commit()
        return outcome
    if payment is None:
        order, payment = await _new_attempt(
            session,
            checkout,
            payer,
            payment_method=payment_method,
            expected_total_cents=expected_total_cents,
            policy=policy,
            provider=provider,
            promotions=promotions,
        )
    assert order is not None
    await session.commit()
    return _Attempt(
        payment_id=payment.id,
        idempotency_key=payment.idempotency_key,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        order_number=order.number,
        checkout_id=checkout.id,
    )


async def _live_attempt(session: AsyncSession, order: Order) -> Payment | None:
    latest = await _latest(session, order.id)
    return latest if latest is not None and latest.status in LIVE_PAYMENT else None


def _stuck(payment: Payment) -> bool:
    """Still `creating` long after it started: its process is gone, and the attempt is made again."""
    return payment.status == PaymentStatus.creating.value and utcnow() - payment.created_at > RECOVER_AFTER


async def _new_attempt(
    session: AsyncSession,
    checkout: Checkout,
    payer: Payer,
    *,
    payment_method: str,
    expected_total_cents: int | None,
    policy: ShopPolicy,
    provider: PaymentProvider,
    promotions: Sequence[Promotion],
) -> tuple[Order, Payment]:
    """Hold the stock again if needed, price now, place the order (once per checkout) and record the next
    attempt as `creating`. Does not commit, except to keep new prices when the total changed."""
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
    order = await orders.place(session, checkout, actor=payer.owner)
    await commit_adjustments(session, checkout, order, policy.adjustments)
    attempts = await session.scalar(select(func.count(Payment.id)).where(Payment.order_id == order.id))
    attempt = int(attempts or 0) + 1
    payment = Payment(
        order_id=order.id,
        attempt=attempt,
        provider=provider.name,
        idempotency_key=f"{checkout.id}-{attempt}",
        amount_cents=order.total_cents,
        currency=order.currency,
    )
    session.add(payment)
    orders.note(session, order, "payment", actor=payer.owner, text=f"payment {attempt} started")
    return order, payment


async def _call_provider(
    session: AsyncSession,
    provider: PaymentProvider,
    attempt: _Attempt,
    payer: Payer,
    *,
    payment_method: str,
    save_method: bool,
) -> tuple[Intent | None, str]:
    """2. Outside any transaction: the intent the provider made, or None and why it refused."""
    try:
        customer = None
        if payer.user_id is not None and payer.email:
            customer = await customers.ensure_customer(
                session, provider, user_id=payer.user_id, email=payer.email, name=payer.name
            )
            if customer and save_method:
                await provider.save_method(customer, payment_method)
        intent = await provider.create_intent(
            amount_cents=attempt.amount_cents,
            currency=attempt.currency,
            payment_method=payment_method,
            customer=customer,
            metadata={
                "order_number": attempt.order_number,
                "payment_id": str(attempt.payment_id),
                "checkout_id": attempt.checkout_id,
            },
            idempotency_key=attempt.idempotency_key,
        )
    except (PaymentDeclined, InvalidInput) as exc:
        return None, exc.message
    return intent, ""


async def _settle(
    session: AsyncSession,
    provider: PaymentProvider,
    payment_id: int,
    intent: Intent | None,
    *,
    actor: str,
    error: str = "",
) -> PayOutcome:
    """3. Record what the provider says (commerce.payments.settlement); money for an order that cannot be
    fulfilled goes straight back."""
    settled = await settlement.apply(session, payment_id, intent, actor=actor, error=error)
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
    return await _settle(session, provider, latest.id, intent, actor=payer.owner)


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
