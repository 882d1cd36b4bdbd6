"""Payment doors: pay a checkout (idempotent), finish 3-D Secure, saved cards, Stripe's webhook, and staff's
cancel and refund of an order."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from commerce import returns
from commerce.orders import OrderView
from commerce.payments import customers, paying, refunds, webhooks
from commerce.payments.providers.base import PaymentProvider, SavedMethod
from commerce.payments.providers.simulated import TestProvider
from commerce.payments.settlement import PayOutcome
from engage.auth import refund_allowance, refund_limit
from engage.http.guards import identity_of, public, shopper, signed_in, staff
from engage.http.params import Id
from engage.platform.errors import Conflict, InvalidInput
from engage.services import Services


class PayRequest(msgspec.Struct, forbid_unknown_fields=True):
    # Stripe: a PaymentMethod id made by Stripe.js (pm_...). Test provider: "card:4242424242424242".
    # Empty when store credit or points cover the whole total (nothing is charged).
    payment_method: Annotated[str, msgspec.Meta(max_length=200)] = ""
    save_payment_method: bool = False
    # The total the shopper saw; a different server total answers 409 price_changed instead of charging.
    expected_total_cents: int | None = None


class Authentication(msgspec.Struct, forbid_unknown_fields=True):
    success: bool


class Cancellation(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=300)] = ""


class RefundLine(msgspec.Struct, forbid_unknown_fields=True):
    line_id: int
    quantity: Annotated[int, msgspec.Meta(ge=1)]


class RefundRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Nothing: refund all that is left. `amount_cents` and/or `lines` (refunded at the price paid)."""

    amount_cents: Annotated[int, msgspec.Meta(ge=1)] | None = None
    lines: list[RefundLine] = []
    restock: bool = False
    reason: Annotated[str, msgspec.Meta(max_length=300)] = ""


class WebhookAnswer(msgspec.Struct):
    result: str


def _provider(services: Services) -> PaymentProvider:
    return services.payments


def _payer(request: Request[Any, Any, Any]) -> paying.Payer:
    ident = identity_of(request)
    return paying.Payer(owner=ident.owner_key, user_id=ident.user_id, email=ident.email, name=ident.name)


def _actor(request: Request[Any, Any, Any]) -> str:
    return f"user:{identity_of(request).user_id}"


class PaymentController(Controller):
    path = "/api/checkout/{checkout_id:str}"
    tags = ["payments"]
    guards = [shopper]

    @post("/pay", status_code=200)
    async def pay(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        db_session: AsyncSession,
        checkout_id: str,
        data: PayRequest,
        idempotency_key: Annotated[str | None, Parameter(header="Idempotency-Key")] = None,
    ) -> PayOutcome:
        """Pay the checkout. Send an `Idempotency-Key` (one per pay button press): a repeat with it answers
        the same, without paying twice (engage.http.idempotency). `status`: paid, requires_action (3-D
        Secure: use `client_secret`, then POST .../confirm), processing, or failed (the stock was given
        back; pay again with another card)."""
        if not idempotency_key:
            raise InvalidInput("send an Idempotency-Key header", field="Idempotency-Key")
        return await paying.pay(
            db_session,
            checkout_id,
            _payer(request),
            payment_method=data.payment_method,
            save_method=data.save_payment_method,
            expected_total_cents=data.expected_total_cents,
            policy=services.shop_policy,
            provider=_provider(services),
            promotions=services.promotions,
        )

    @post("/confirm", status_code=200)
    async def confirm(
        self, request: Request[Any, Any, Any], services: Services, db_session: AsyncSession, checkout_id: str
    ) -> PayOutcome:
        """After the 3-D Secure step: the payment's state as the provider has it now."""
        return await paying.confirm(db_session, checkout_id, _payer(request), provider=_provider(services))

    @post("/authenticate", status_code=200)
    async def authenticate(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        db_session: AsyncSession,
        checkout_id: str,
        data: Authentication,
    ) -> PayOutcome:
        """The test provider's simulated 3-D Secure challenge (Stripe's is done by Stripe.js)."""
        provider = _provider(services)
        if provider.name != "test":
            raise Conflict(
                "3-D Secure is completed with the card issuer through Stripe.js", code="use_stripe_js"
            )
        payer = _payer(request)
        intent_id = await paying.live_intent(db_session, checkout_id, payer.owner)
        await db_session.commit()
        assert isinstance(provider, TestProvider)  # the name says so
        await provider.authenticate(intent_id, success=data.success)
        return await paying.confirm(db_session, checkout_id, payer, provider=provider)


class SavedMethodsController(Controller):
    path = "/api/payments"
    tags = ["payments"]

    @get("/methods", guards=[signed_in])
    async def methods(
        self, request: Request[Any, Any, Any], services: Services, db_session: AsyncSession
    ) -> list[SavedMethod]:
        """Cards saved with the provider for the signed-in shopper (pay with their `id`)."""
        user_id = identity_of(request).user_id
        assert user_id is not None
        return await customers.saved_methods(db_session, _provider(services), user_id)

    @get("/config", guards=[public])
    async def config(self, services: Services) -> dict[str, str]:
        """Which provider the checkout page talks to."""
        settings = services.settings
        return {"provider": _provider(services).name, "currency": settings.currency}


class WebhookController(Controller):
    path = "/api/webhooks"
    tags = ["payments"]

    @post("/stripe", guards=[public], status_code=200)
    async def stripe(
        self, request: Request[Any, Any, Any], services: Services, db_session: AsyncSession
    ) -> WebhookAnswer:
        """Stripe events: the signature is checked on the raw body (forged or older than 5 minutes: 400)."""
        provider = _provider(services)
        if provider.name != "stripe":
            raise Conflict(
                "the Stripe webhook is off: ENGAGE_PAYMENT_PROVIDER is not stripe", code="not_stripe"
            )
        result = await webhooks.handle(
            db_session, provider, await request.body(), request.headers.get("stripe-signature", "")
        )
        return WebhookAnswer(result=result)


class Receipt(msgspec.Struct, forbid_unknown_fields=True):
    restock: bool = True  # the units go back on sale (false: damaged, kept aside)


class ReturnReceiptController(Controller):
    path = "/api/staff/returns"
    tags = ["returns"]
    guards = [staff]

    @post("/{return_id:int}/receive", status_code=200)
    async def receive(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        db_session: AsyncSession,
        return_id: Id,
        data: Receipt,
    ) -> returns.ReturnView:
        """The parcel arrived: refund its lines at the price paid (the refund permission applies) and put
        the units back on sale unless `restock` is false. A return closed already: 409."""
        allowance = await refund_allowance(db_session, identity_of(request))
        row = await refunds.refund_return(
            db_session,
            return_id,
            actor=_actor(request),
            provider=services.payments,
            restock=data.restock,
            limit_cents=allowance.limit_cents,
        )
        return returns.view(row, services.settings.returns_address)


class ShopperCancelController(Controller):
    path = "/api/orders"
    tags = ["orders"]
    guards = [shopper]

    @post("/{number:str}/cancel", status_code=200)
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        db_session: AsyncSession,
        number: str,
        data: Cancellation,
    ) -> OrderView:
        """Cancel my order while it is not shipped: an unpaid one stops its payment; a paid one is refunded
        in full and its stock goes back. Another shopper's order is 404; a shipped one 409."""
        ident = identity_of(request)
        return await refunds.cancel_own(
            db_session,
            number,
            owner=ident.owner_key,
            user_id=ident.user_id,
            provider=services.payments,
            reason=data.reason,
        )


class StaffRefundController(Controller):
    path = "/api/staff/orders"
    tags = ["orders (staff)"]
    guards = [staff]

    @post("/{number:str}/cancel", status_code=200)
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        db_session: AsyncSession,
        number: str,
        data: Cancellation,
    ) -> OrderView:
        """Unpaid: stop the payment, give the stock back. Paid and not shipped: refund in full and restock
        (which needs the refund permission)."""
        return await refunds.cancel(
            db_session,
            number,
            actor=_actor(request),
            provider=services.payments,
            reason=data.reason,
            limit_cents=await refund_limit(db_session, identity_of(request)),
        )

    @post("/{number:str}/refund", status_code=200)
    async def refund(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        db_session: AsyncSession,
        number: str,
        data: RefundRequest,
    ) -> OrderView:
        """Refund through the payment provider; never more than is left. `restock` returns the lines' units.
        Admins, and agents an admin gave the refund permission (up to their limit per refund)."""
        allowance = await refund_allowance(db_session, identity_of(request))
        return await refunds.refund(
            db_session,
            number,
            actor=_actor(request),
            provider=services.payments,
            amount_cents=data.amount_cents,
            lines=[refunds.LineReturn(line.line_id, line.quantity) for line in data.lines],
            restock=data.restock,
            reason=data.reason,
            limit_cents=allowance.limit_cents,
        )
