"""The payment provider interface. Statuses are normalised to ours; provider objects never leak out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from engage.platform.errors import DomainError


@dataclass(frozen=True, slots=True)
class Intent:
    """A payment at the provider (Stripe: a PaymentIntent)."""

    id: str
    # succeeded | requires_action | processing | failed | canceled | requires_confirmation
    status: str
    amount_cents: int
    currency: str
    client_secret: str | None = None
    error: str = ""  # why it failed, in words a shopper can read
    metadata: dict[str, str] | None = None
    card_fingerprint: str = ""  # the same card gives the same fingerprint, whoever uses it


@dataclass(frozen=True, slots=True)
class ProviderRefund:
    id: str
    status: str  # succeeded | pending | failed
    amount_cents: int


@dataclass(frozen=True, slots=True)
class SavedMethod:
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True, slots=True)
class WebhookNotice:
    """What a verified webhook says happened (its payload is not trusted beyond the ids)."""

    event_id: str
    type: str
    intent_id: str | None


class InvalidSignature(DomainError):
    code = "invalid_signature"


class PaymentDeclined(DomainError):
    """The provider refused the payment method (e.g. a card declined when attached to the customer)."""

    code = "payment_declined"


class PaymentProvider(Protocol):
    name: str

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
        """Create a payment with its method attached, then confirm it (one idempotency key per attempt)."""
        ...

    async def retrieve(self, intent_id: str) -> Intent: ...

    async def cancel(self, intent_id: str) -> Intent: ...

    async def refund(self, intent_id: str, *, amount_cents: int, idempotency_key: str) -> ProviderRefund: ...

    async def create_customer(self, *, email: str, name: str, user_id: int) -> str | None:
        """A customer to keep saved methods under; None when the provider has no such idea."""
        ...

    async def save_method(self, customer: str, payment_method: str) -> None: ...

    async def delete_customer(self, customer: str) -> None:
        """The customer and what the provider keeps under it (saved cards) deleted; one gone already is
        fine."""
        ...

    async def saved_methods(self, customer: str) -> list[SavedMethod]: ...

    def verify_webhook(self, payload: bytes, signature: str) -> WebhookNotice:
        """InvalidSignature when forged, stale or malformed."""
        ...
