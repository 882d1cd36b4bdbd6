"""Stripe through the official SDK (async HTTP). PaymentIntents with the method attached at creation, then
confirmed; every call of one attempt carries that attempt's idempotency key."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import stripe

from commerce.payments.providers.base import (
    Intent,
    InvalidSignature,
    PaymentDeclined,
    ProviderRefund,
    SavedMethod,
    WebhookNotice,
)
from engage.platform.errors import NotFound, Unavailable

# Stripe's default signature tolerance: a signed payload older than this is refused as a replay.
WEBHOOK_TOLERANCE_SECONDS = 300


def _status(pi: Any) -> str:
    status = pi.status
    if status == "requires_payment_method":
        # A new intent without a method never reaches us; here it means the last attempt failed.
        return "failed"
    if status in ("requires_capture",):
        return "processing"
    return str(status)


def _error(pi: Any) -> str:
    err = getattr(pi, "last_payment_error", None)
    if not err:
        return ""
    message = err.get("message") if isinstance(err, dict) else getattr(err, "message", None)
    return str(message or "the payment failed")


_EXPAND = ["payment_method"]  # its card's fingerprint: the referral fraud check's "same card"


def _fingerprint(pi: Any) -> str:
    """The card's fingerprint when the payment method came expanded (`retrieve` asks for it)."""
    method = getattr(pi, "payment_method", None)
    card = getattr(method, "card", None) if method is not None and not isinstance(method, str) else None
    fingerprint = getattr(card, "fingerprint", None) if card is not None else None
    return fingerprint if isinstance(fingerprint, str) and len(fingerprint) <= 64 else ""


def _intent(pi: Any) -> Intent:
    metadata = getattr(pi, "metadata", None)
    return Intent(
        id=pi.id,
        status=_status(pi),
        amount_cents=int(pi.amount),
        currency=str(pi.currency),
        client_secret=pi.client_secret if pi.status == "requires_action" else None,
        error=_error(pi),
        metadata={str(k): str(v) for k, v in metadata.to_dict().items()} if metadata else {},
        card_fingerprint=_fingerprint(pi),
    )


class StripeProvider:
    name = "stripe"

    def __init__(self, *, api_key: str, webhook_secret: str, api_base: str | None = None) -> None:
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=stripe.HTTPXClient(timeout=20),
            max_network_retries=2,  # safe: every POST carries a stable idempotency key
        )
        self._webhook_secret = webhook_secret

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
            raise Unavailable(f"the payment provider did not answer: {exc.user_message or exc}") from None

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
        params: dict[str, Any] = {
            "amount": amount_cents,
            "currency": currency,
            "payment_method": payment_method,
            "payment_method_types": ["card"],
            "metadata": metadata,
        }
        if customer:
            params["customer"] = customer
        try:
            pi = await self._call(
                self._client.v1.payment_intents.create_async,
                params,
                options={"idempotency_key": f"{idempotency_key}:create"},
            )
        except stripe.InvalidRequestError as exc:
            raise PaymentDeclined(exc.user_message or "this payment method cannot be used") from None
        if pi.status == "requires_confirmation":
            try:
                pi = await self._call(
                    self._client.v1.payment_intents.confirm_async,
                    pi.id,
                    options={"idempotency_key": f"{idempotency_key}:confirm"},
                )
            except stripe.CardError:
                pass  # a decline: the intent itself says why
        # read back with its card's fingerprint; the keyed POSTs keep their parameters, so an attempt
        # retried across a deploy replays the same request
        return await self.retrieve(pi.id)

    async def retrieve(self, intent_id: str) -> Intent:
        try:
            return _intent(
                await self._call(
                    self._client.v1.payment_intents.retrieve_async, intent_id, {"expand": _EXPAND}
                )
            )
        except stripe.InvalidRequestError as exc:
            if exc.http_status in (400, 404):  # unknown, or not even the shape of an id
                raise NotFound(f"Stripe has no payment {intent_id}") from None
            raise

    async def cancel(self, intent_id: str) -> Intent:
        try:
            return _intent(await self._call(self._client.v1.payment_intents.cancel_async, intent_id))
        except stripe.InvalidRequestError:
            return await self.retrieve(intent_id)  # already final: its status says what happened

    async def refund(self, intent_id: str, *, amount_cents: int, idempotency_key: str) -> ProviderRefund:
        refund = await self._call(
            self._client.v1.refunds.create_async,
            {"payment_intent": intent_id, "amount": amount_cents},
            options={"idempotency_key": idempotency_key},
        )
        return ProviderRefund(id=refund.id, status=refund.status, amount_cents=int(refund.amount))

    async def create_customer(self, *, email: str, name: str, user_id: int) -> str | None:
        customer = await self._call(
            self._client.v1.customers.create_async,
            {"email": email, "name": name or email, "metadata": {"engage_user_id": str(user_id)}},
            options={"idempotency_key": f"customer:{user_id}"},
        )
        return str(customer.id)

    async def delete_customer(self, customer: str) -> None:
        try:
            await self._call(self._client.v1.customers.delete_async, customer)
        except stripe.InvalidRequestError as exc:
            if exc.code != "resource_missing":
                raise

    async def save_method(self, customer: str, payment_method: str) -> None:
        try:
            await self._call(
                self._client.v1.payment_methods.attach_async, payment_method, {"customer": customer}
            )
        except stripe.CardError as exc:
            raise PaymentDeclined(exc.user_message or "the card was declined") from None

    async def saved_methods(self, customer: str) -> list[SavedMethod]:
        listing = await self._call(
            self._client.v1.payment_methods.list_async, {"customer": customer, "type": "card"}
        )
        return [
            SavedMethod(m.id, m.card.brand, m.card.last4, int(m.card.exp_month), int(m.card.exp_year))
            for m in listing.data
        ]

    def verify_webhook(self, payload: bytes, signature: str) -> WebhookNotice:
        """A signed event, also when its body is not what Stripe sends (acknowledged, about nothing)."""
        if not self._webhook_secret:
            raise InvalidSignature("webhooks are not configured (ENGAGE_STRIPE_WEBHOOK_SECRET)")
        try:
            stripe.WebhookSignature.verify_header(
                payload.decode("utf-8"), signature, self._webhook_secret, WEBHOOK_TOLERANCE_SECONDS
            )
        except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
            raise InvalidSignature(f"invalid Stripe-Signature: {exc}") from None
        if _signed_at(signature) > time.time() + WEBHOOK_TOLERANCE_SECONDS:
            raise InvalidSignature("invalid Stripe-Signature: timestamped in the future")
        return _notice(payload)


def _signed_at(signature: str) -> int:
    stamps = [part[2:] for part in signature.split(",") if part.startswith("t=")]
    return int(stamps[0]) if stamps and stamps[0].isdigit() else 0


def _short_id(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= 100 else None


def _notice(payload: bytes) -> WebhookNotice:
    """What a signed body says: its event id and the PaymentIntent it is about. A body of another shape is
    still an event (recorded once under a hash of the body, so Stripe stops sending it), about nothing."""
    try:
        event = json.loads(payload)
    except ValueError:
        event = None
    if not isinstance(event, dict) or (event_id := _short_id(event.get("id"))) is None:
        digest = hashlib.sha256(payload).hexdigest()[:40]
        return WebhookNotice(event_id=f"malformed:{digest}", type="malformed", intent_id=None)
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    intent_id = None
    if isinstance(obj, dict):
        if obj.get("object") == "payment_intent":
            intent_id = _short_id(obj.get("id"))
        else:
            intent_id = _short_id(obj.get("payment_intent"))
    kind = event.get("type")
    return WebhookNotice(event_id=event_id, type=kind if isinstance(kind, str) else "", intent_id=intent_id)
