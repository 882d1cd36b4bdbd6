"""The `test` payment provider: a simulator for the embedded demo and tests. No money moves.

It answers like Stripe's test mode, by card number (`card:<number>`) or Stripe's test method ids:
4242 4242 4242 4242 (or `pm_card_visa`) succeeds; 4000 0000 0000 0002 / 0341 (`pm_card_chargeDeclined`) is
declined; 4000 0025 0000 3155 (`pm_card_threeDSecureRequired`) asks for 3-D Secure, which `authenticate`
completes or fails. Intents live in a key-value store for a day. `make_provider` refuses it in production.
"""

from __future__ import annotations

import hashlib
import secrets

import msgspec

from commerce.payments.providers.base import (
    Intent,
    InvalidSignature,
    ProviderRefund,
    SavedMethod,
    WebhookNotice,
)
from engage.platform.errors import Conflict, InvalidInput, NotFound
from engage.platform.stores import KeyValue

_TTL = 86_400
ALIASES = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_threeDSecureRequired": "4000002500003155",
}
DECLINED = {"4000000000000002", "4000000000000341", "4000000000009995"}
NEEDS_3DS = {"4000002500003155", "4000002760003184", "4000003800000446"}


class _Stored(msgspec.Struct):
    id: str
    status: str
    amount_cents: int
    currency: str
    client_secret: str
    metadata: dict[str, str]
    error: str = ""
    refunded_cents: int = 0
    card_fingerprint: str = ""


def _luhn(number: str) -> bool:
    digits = [int(d) for d in number][::-1]
    total = sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])
    return total % 10 == 0


def card_number(payment_method: str) -> str:
    raw = ALIASES.get(payment_method, payment_method.removeprefix("card:"))
    number = "".join(ch for ch in raw if ch.isdigit())
    if not 12 <= len(number) <= 19 or not _luhn(number):
        raise InvalidInput("that card number is not valid", field="payment_method")
    return number


class TestProvider:
    name = "test"
    __test__ = False  # not a pytest class

    def __init__(self, store: KeyValue) -> None:
        self._store = store

    async def _load(self, intent_id: str) -> _Stored:
        raw = await self._store.get(f"testpay:{intent_id}")
        if raw is None:
            raise NotFound(f"no test payment {intent_id}")
        return msgspec.json.decode(raw, type=_Stored)

    async def _save(self, intent: _Stored) -> None:
        await self._store.set(f"testpay:{intent.id}", msgspec.json.encode(intent), expires_in=_TTL)

    @staticmethod
    def _public(s: _Stored) -> Intent:
        return Intent(
            id=s.id,
            status=s.status,
            amount_cents=s.amount_cents,
            currency=s.currency,
            client_secret=s.client_secret if s.status == "requires_action" else None,
            error=s.error,
            metadata=dict(s.metadata),
            card_fingerprint=s.card_fingerprint,
        )

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
        intent_id = f"test_pi_{idempotency_key.replace(':', '_')}"
        existing = await self._store.get(f"testpay:{intent_id}")
        if existing is not None:  # the same attempt again: the same answer, like Stripe's idempotency
            return self._public(msgspec.json.decode(existing, type=_Stored))
        number = card_number(payment_method)
        status, error = "succeeded", ""
        if number in DECLINED:
            status, error = "failed", "Your card was declined."
        elif number in NEEDS_3DS:
            status = "requires_action"
        stored = _Stored(
            id=intent_id,
            status=status,
            amount_cents=amount_cents,
            currency=currency,
            client_secret=f"{intent_id}_secret_{secrets.token_hex(8)}",
            metadata=metadata,
            error=error,
            card_fingerprint=hashlib.sha256(f"test-card:{number}".encode()).hexdigest()[:16],
        )
        await self._save(stored)
        return self._public(stored)

    async def authenticate(self, intent_id: str, *, success: bool) -> Intent:
        """The simulated 3-D Secure challenge: the shopper passes or fails it."""
        stored = await self._load(intent_id)
        if stored.status != "requires_action":
            raise Conflict("this payment is not waiting for authentication")
        if success:
            stored.status = "succeeded"
        else:
            stored.status, stored.error = "failed", "The card's 3-D Secure authentication failed."
        await self._save(stored)
        return self._public(stored)

    async def retrieve(self, intent_id: str) -> Intent:
        return self._public(await self._load(intent_id))

    async def cancel(self, intent_id: str) -> Intent:
        stored = await self._load(intent_id)
        if stored.status in ("requires_action", "processing", "requires_confirmation"):
            stored.status = "canceled"
            await self._save(stored)
        return self._public(stored)

    async def refund(self, intent_id: str, *, amount_cents: int, idempotency_key: str) -> ProviderRefund:
        done = await self._store.get(f"testrefund:{idempotency_key}")
        if done is not None:
            return msgspec.json.decode(done, type=ProviderRefund)
        stored = await self._load(intent_id)
        if stored.status != "succeeded" or stored.refunded_cents + amount_cents > stored.amount_cents:
            raise Conflict("the test payment cannot be refunded by that much")
        stored.refunded_cents += amount_cents
        await self._save(stored)
        refund = ProviderRefund(
            id=f"test_re_{secrets.token_hex(6)}", status="succeeded", amount_cents=amount_cents
        )
        await self._store.set(f"testrefund:{idempotency_key}", msgspec.json.encode(refund), expires_in=_TTL)
        return refund

    async def create_customer(self, *, email: str, name: str, user_id: int) -> str | None:
        return None

    async def save_method(self, customer: str, payment_method: str) -> None:
        return None

    async def delete_customer(self, customer: str) -> None:
        return None

    async def saved_methods(self, customer: str) -> list[SavedMethod]:
        return []

    def verify_webhook(self, payload: bytes, signature: str) -> WebhookNotice:
        raise InvalidSignature("the test provider sends no webhooks")
