"""Orders the checkout adjustments (store credit, points) paid in full: nothing goes through a card.

`NO_CHARGE` stands in for the provider when an attempt has nothing to charge (the payment succeeds at once,
no call out); `close_uncharged` refunds or cancels such an order, since no money goes back to a card: the
adjustments' areas give back what they took when they see the order refunded (commerce.checkout.adjustments).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from commerce import inventory, orders
from commerce.orders.models import Order, OrderStatus
from commerce.payments.providers.base import (
    Intent,
    InvalidSignature,
    ProviderRefund,
    SavedMethod,
    WebhookNotice,
)


class NoCharge:
    """The provider of a payment with nothing left to charge (the adjustments covered the whole total): no
    card, no call out; the payment succeeds at once."""

    name = "none"

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
        if amount_cents != 0:
            raise ValueError("NoCharge pays only what costs nothing")
        return Intent(id=f"covered-{idempotency_key}", status="succeeded", amount_cents=0, currency=currency)

    async def retrieve(self, intent_id: str) -> Intent:
        return Intent(id=intent_id, status="succeeded", amount_cents=0, currency="")

    async def cancel(self, intent_id: str) -> Intent:
        return await self.retrieve(intent_id)

    async def refund(self, intent_id: str, *, amount_cents: int, idempotency_key: str) -> ProviderRefund:
        return ProviderRefund(id=f"covered-{idempotency_key}", status="succeeded", amount_cents=amount_cents)

    async def create_customer(self, *, email: str, name: str, user_id: int) -> str | None:
        return None

    async def save_method(self, customer: str, payment_method: str) -> None:
        return None

    async def delete_customer(self, customer: str) -> None:
        return None

    async def saved_methods(self, customer: str) -> list[SavedMethod]:
        return []

    def verify_webhook(self, payload: bytes, signature: str) -> WebhookNotice:
        raise InvalidSignature("nothing is charged, so no webhook comes")


NO_CHARGE = NoCharge()


async def close_uncharged(
    session: AsyncSession, order: Order, *, actor: str, reason: str, cancel: bool, restock: bool
) -> None:
    """Refund (or cancel) an order whose total the adjustments covered: no money goes back through a
    provider; the adjustments' areas give back what they took when they see the order refunded. Does not
    commit."""
    if restock:
        for line in order.lines:
            left = line.quantity - line.returned_quantity
            if left > 0 and line.variant_id is not None:
                await inventory.return_to_stock(
                    session, line.variant_id, left, reference=f"order:{order.number}", note="refund"
                )
                line.returned_quantity += left
    to = OrderStatus.cancelled if cancel else OrderStatus.refunded
    orders.transition(session, order, to, actor=actor, note=reason or "refunded: no card was charged")


__all__ = ["NO_CHARGE", "NoCharge", "close_uncharged"]
