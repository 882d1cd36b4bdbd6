"""Checkout, order and payment rows are locked in one order (commerce/locks.py): the jobs and requests that
meet on one checkout never deadlock on PostgreSQL, and they agree on how it ended.

Each race runs two real flows at once, each on its own session (its own connection), many times; one flow
starts a little before or after the other, by another amount each round, so the two cross at every step:

- abandonment (the periodic job) against the webhook of a payment the bank was still processing;
- abandonment against the shopper finishing 3-D Secure, then confirming;
- staff cancelling the unpaid order against the shopper finishing 3-D Secure, then confirming;
- staff refunding a paid order against a redelivered "succeeded" webhook.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import msgspec
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError

from commerce import inventory
from commerce.cart import carts
from commerce.checkout import checkouts
from commerce.checkout.checkouts import Address, own_source
from commerce.checkout.models import Checkout
from commerce.orders.models import Order
from commerce.payments import abandonment, paying, refunds, webhooks
from commerce.payments.models import Payment, Refund
from commerce.payments.providers.base import Intent, WebhookNotice
from commerce.payments.providers.simulated import TestProvider
from commerce.payments.settlement import PayOutcome
from engage.platform.clock import utcnow
from engage.platform.errors import Conflict
from engage.platform.stores import KeyValue
from engage.services import Services
from tests.commerce.conftest import ADDRESS, GOOD_CARD, THREE_DS_CARD, make_product
from tests.conftest import ROOT

ROUNDS = 30
# Round n starts one flow (n - 15) ms after the other: together the rounds cross every step of both.
STEP_SECONDS = 0.001
SLOW_CARD = "card:4000000000000077"  # this test's bank keeps it `processing` until it answers


class Bank(TestProvider):
    """The test provider plus what these races need: a card the bank keeps `processing` until `answer`
    (which, like Stripe, cannot be cancelled meanwhile), webhooks whose payload names the intent, and a cue
    for the other flow of a race: someone asked to cancel a payment."""

    def __init__(self, store: KeyValue) -> None:
        super().__init__(store)
        self.stop_asked = asyncio.Event()

    async def asked_to_stop(self) -> None:
        """Returns once someone has asked to cancel a payment (or after half a second)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop_asked.wait(), 0.5)

    async def create_intent(
        self,
        *,
        amount_cents: int,
        currency: str,
        payment_method: str,
        customer: str | None,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> Intent:
        slow = payment_method == SLOW_CARD
        intent = await super().create_intent(
            amount_cents=amount_cents,
            currency=currency,
            payment_method=GOOD_CARD if slow else payment_method,
            customer=customer,
            metadata=metadata,
            idempotency_key=idempotency_key,
        )
        if not slow:
            return intent
        stored = await self._load(intent.id)
        stored.status = "processing"
        await self._save(stored)
        return self._public(stored)

    async def answer(self, intent_id: str) -> None:
        stored = await self._load(intent_id)
        stored.status = "succeeded"
        await self._save(stored)

    async def cancel(self, intent_id: str) -> Intent:
        try:
            stored = await self._load(intent_id)
            if stored.status == "processing":  # Stripe refuses; our Stripe provider then answers its state
                return self._public(stored)
            return await super().cancel(intent_id)
        finally:
            self.stop_asked.set()

    def verify_webhook(self, payload: bytes, signature: str) -> WebhookNotice:
        event = json.loads(payload)
        return WebhookNotice(event_id=event["id"], type=event["type"], intent_id=event["intent"])


def _succeeded(intent_id: str) -> bytes:
    event = {"id": f"evt_{uuid.uuid4().hex}", "type": "payment_intent.succeeded", "intent": intent_id}
    return json.dumps(event).encode()


@dataclass
class Shop:
    services: Services
    bank: Bank
    variant_id: int

    async def ready_checkout(self) -> tuple[str, paying.Payer]:
        """A guest's checkout with an address and a shipping method, one unit held."""
        owner = f"guest:race-{uuid.uuid4().hex[:12]}"
        policy = self.services.shop_policy
        async with self.services.sessionmaker() as s:
            await carts.set_quantity(s, owner, self.variant_id, 1)
            started = await checkouts.start(s, owner, user_id=None, email="racer@example.test", policy=policy)
            await checkouts.change(
                s,
                started.id,
                owner,
                email=None,
                address=msgspec.convert(ADDRESS, Address),
                shipping_method="standard",
                policy=policy,
            )
        return started.id, paying.Payer(owner=owner, user_id=None)

    async def pay(self, checkout_id: str, payer: paying.Payer, card: str) -> PayOutcome:
        async with self.services.sessionmaker() as s:
            return await paying.pay(
                s,
                checkout_id,
                payer,
                payment_method=card,
                save_method=False,
                expected_total_cents=None,
                policy=self.services.shop_policy,
                provider=self.bank,
                promotions=self.services.promotions,
            )

    async def run_out(self, checkout_id: str) -> None:
        """The checkout's hold time is over."""
        async with self.services.sessionmaker() as s:
            past = utcnow() - timedelta(seconds=1)
            await s.execute(update(Checkout).where(Checkout.id == checkout_id).values(expires_at=past))
            await s.commit()

    async def abandon(self) -> int:
        async with self.services.sessionmaker() as s:
            return await abandonment.expire_checkouts(s, self.bank)

    async def webhook(self, payload: bytes) -> str:
        async with self.services.sessionmaker() as s:
            return await webhooks.handle(s, self.bank, payload, "trusted")

    async def authenticate_and_confirm(self, checkout_id: str, payer: paying.Payer, intent_id: str) -> str:
        """The shopper passes 3-D Secure at the bank (too late if the payment was cancelled), then the
        page confirms."""
        try:
            await self.bank.authenticate(intent_id, success=True)
        except Conflict:
            pass
        async with self.services.sessionmaker() as s:
            return (await paying.confirm(s, checkout_id, payer, provider=self.bank)).status

    async def ending(self, checkout_id: str) -> str:
        """How the checkout ended: "paid"; "abandoned" (every payment stopped); "refunded" (paid, then all
        the money went back: a refund, or a cancellation after payment); or what is wrong."""
        async with self.services.sessionmaker() as s:
            checkout = await s.get(Checkout, checkout_id)
            order = await s.scalar(select(Order).where(Order.checkout_id == checkout_id))
            assert checkout is not None and order is not None
            payments = sorted(
                (await s.scalars(select(Payment.status).where(Payment.order_id == order.id))).all()
            )
            refunded = await s.scalar(
                select(func.count(Refund.id)).where(Refund.order_id == order.id, Refund.status == "succeeded")
            )
            held = [
                h
                for h in await inventory.holds_from(s, own_source(checkout_id))
                if h.status == inventory.ReservationStatus.active.value
            ]
        state = (checkout.status, order.status, payments, int(refunded or 0), len(held))
        if state == ("completed", "paid", ["succeeded"], 0, 0):
            return "paid"
        if (
            state[:2] == ("expired", "cancelled")
            and set(payments) <= {"canceled", "failed"}
            and state[3:] == (0, 0)
        ):
            return "abandoned"
        if (
            state[0] == "completed"
            and state[1] in ("refunded", "cancelled")
            and state[2:] == (["succeeded"], 1, 0)
            and order.refunded_cents == order.total_cents
        ):
            return "refunded"
        checkout_status, order_status, _, refund_count, hold_count = state
        return (
            f"inconsistent: checkout {checkout_status}, order {order_status}, payments {payments}, "
            f"refunds {refund_count}, holds {hold_count}"
        )


def _deadlock(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        if getattr(orig, "sqlstate", None) == "40P01" or getattr(orig, "pgcode", None) == "40P01":
            return True
    return "deadlock detected" in str(exc)


async def _race(
    first: Callable[[], Awaitable[object]], second: Callable[[], Awaitable[object]], offset: float
) -> list[BaseException]:
    """Both flows at once, the second `offset` seconds after the first (the first after, if negative);
    returns what they raised."""

    async def after(delay: float, flow: Callable[[], Awaitable[object]]) -> object:
        await asyncio.sleep(delay)
        return await flow()

    async with asyncio.timeout(60):
        results = await asyncio.gather(
            after(max(-offset, 0), first), after(max(offset, 0), second), return_exceptions=True
        )
    return [r for r in results if isinstance(r, BaseException)]


Round = Callable[[Shop, float], Awaitable[tuple[str, list[BaseException]]]]


async def _abandon_vs_late_webhook(shop: Shop, offset: float) -> tuple[str, list[BaseException]]:
    checkout_id, payer = await shop.ready_checkout()
    paid = await shop.pay(checkout_id, payer, SLOW_CARD)
    assert paid.status == "processing" and paid.intent_id
    await shop.run_out(checkout_id)
    intent_id = paid.intent_id

    async def bank_says_yes() -> str:  # the moment the job has asked the bank to stop it, or a little later
        await shop.bank.asked_to_stop()
        await asyncio.sleep(abs(offset))
        await shop.bank.answer(intent_id)
        return await shop.webhook(_succeeded(intent_id))

    errors = await _race(shop.abandon, bank_says_yes, 0)
    return await shop.ending(checkout_id), errors


async def _abandon_vs_three_d_secure(shop: Shop, offset: float) -> tuple[str, list[BaseException]]:
    checkout_id, payer = await shop.ready_checkout()
    paid = await shop.pay(checkout_id, payer, THREE_DS_CARD)
    assert paid.status == "requires_action" and paid.intent_id
    await shop.run_out(checkout_id)
    intent_id = paid.intent_id
    errors = await _race(
        shop.abandon, lambda: shop.authenticate_and_confirm(checkout_id, payer, intent_id), offset
    )
    return await shop.ending(checkout_id), errors


async def _cancel_vs_three_d_secure(shop: Shop, offset: float) -> tuple[str, list[BaseException]]:
    checkout_id, payer = await shop.ready_checkout()
    paid = await shop.pay(checkout_id, payer, THREE_DS_CARD)
    assert paid.status == "requires_action" and paid.intent_id and paid.order_number
    intent_id, number = paid.intent_id, paid.order_number

    async def staff_cancels() -> None:
        async with shop.services.sessionmaker() as s:
            try:
                await refunds.cancel(s, number, actor="user:staff", provider=shop.bank, reason="race")
            except Conflict as exc:  # the shopper was quicker: the order is paid
                assert exc.code in ("already_paid", "not_cancellable"), exc

    errors = await _race(
        staff_cancels, lambda: shop.authenticate_and_confirm(checkout_id, payer, intent_id), offset
    )
    return await shop.ending(checkout_id), errors


async def _refund_vs_redelivered_webhook(shop: Shop, offset: float) -> tuple[str, list[BaseException]]:
    checkout_id, payer = await shop.ready_checkout()
    paid = await shop.pay(checkout_id, payer, GOOD_CARD)
    assert paid.status == "paid" and paid.intent_id and paid.order_number
    intent_id, number = paid.intent_id, paid.order_number

    async def staff_refunds() -> None:
        async with shop.services.sessionmaker() as s:
            await refunds.refund(s, number, actor="user:staff", provider=shop.bank, reason="race")

    errors = await _race(staff_refunds, lambda: shop.webhook(_succeeded(intent_id)), offset)
    return await shop.ending(checkout_id), errors


async def _rounds(services: Services, race: Round, allowed: set[str]) -> set[str]:
    """ROUNDS races on fresh checkouts; fails on any deadlock, error or ending not `allowed`."""
    async with services.sessionmaker() as s:
        product = await make_product(s, stock=ROUNDS + 10, price=3000)
    shop = Shop(services, Bank(services.runtime.stores["cache"]), product.variants[0].id)
    deadlocks: list[str] = []
    failures: list[str] = []
    endings: set[str] = set()
    for n in range(ROUNDS):
        shop.bank.stop_asked.clear()
        ending, errors = await race(shop, (n - ROUNDS // 2) * STEP_SECONDS)
        endings.add(ending)
        deadlocks += [f"round {n}: {str(e).splitlines()[0][:160]}" for e in errors if _deadlock(e)]
        failures += [f"round {n}: {e!r}" for e in errors if not _deadlock(e)]
        if ending not in allowed:
            failures.append(f"round {n}: {ending}")
    assert not deadlocks and not failures, (
        f"{len(deadlocks)} deadlocks in {ROUNDS} rounds {deadlocks}; {failures}"
    )
    return endings


@pytest.mark.slow
async def test_abandonment_races_the_webhook_of_a_payment_still_processing(services: Services) -> None:
    # The bank cannot stop that payment: the job leaves the checkout for later instead of cancelling it.
    assert await _rounds(services, _abandon_vs_late_webhook, {"paid"}) == {"paid"}


@pytest.mark.slow
async def test_abandonment_races_the_shopper_finishing_three_d_secure(services: Services) -> None:
    await _rounds(services, _abandon_vs_three_d_secure, {"paid", "abandoned"})


@pytest.mark.slow
async def test_cancelling_an_unpaid_order_races_its_three_d_secure_confirmation(services: Services) -> None:
    # too late, the cancellation refunds the order instead
    await _rounds(services, _cancel_vs_three_d_secure, {"paid", "abandoned", "refunded"})


@pytest.mark.slow
async def test_a_refund_races_a_redelivered_success_webhook(services: Services) -> None:
    assert await _rounds(services, _refund_vs_redelivered_webhook, {"refunded"}) == {"refunded"}


def test_checkout_order_and_payment_rows_are_locked_only_through_commerce_locks() -> None:
    # stock rows have their own order (variant id), kept by commerce/inventory; a shopper's saved addresses
    # theirs (id), taken last (an order's address is remembered under the order's locks)
    lockers = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "commerce").rglob("*.py")
        if path.name not in ("locks.py", "address_book.py")
        and "inventory" not in path.parts
        and ("with_for_update" in (text := path.read_text()) or "FOR UPDATE" in text)
    ]
    assert not lockers, f"lock checkouts, orders and payments through commerce.locks: {lockers}"
