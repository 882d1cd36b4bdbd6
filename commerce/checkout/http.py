"""Checkout door: start from the cart, give address and shipping, see totals (computed here, never sent)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, patch, post
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.checkout import checkouts
from commerce.checkout.checkouts import Address, CheckoutView
from engage.http.guards import identity_of, shopper
from engage.services import Services


class CheckoutChanges(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    address: Address | None = None
    shipping_method: Annotated[str, msgspec.Meta(max_length=40)] | None = None


class CheckoutController(Controller):
    path = "/api/checkout"
    tags = ["checkout"]
    guards = [shopper]

    @post(status_code=201)
    async def start(
        self, request: Request[Any, Any, Any], services: Services, db_session: AsyncSession
    ) -> CheckoutView:
        """Hold the cart's stock for ENGAGE_RESERVATION_HOLD_SECONDS and open a checkout (409 when an item
        is sold out; a new checkout replaces the shopper's previous open one)."""
        ident = identity_of(request)
        return await checkouts.start(
            db_session,
            ident.owner_key,
            user_id=ident.user_id,
            email=ident.email or "",
            policy=services.shop_policy,
            promotions=services.promotions,
        )

    @get("/{checkout_id:str}")
    async def show(
        self, request: Request[Any, Any, Any], services: Services, db_session: AsyncSession, checkout_id: str
    ) -> CheckoutView:
        return await checkouts.view(
            db_session,
            checkout_id,
            identity_of(request).owner_key,
            policy=services.shop_policy,
            promotions=services.promotions,
        )

    @patch("/{checkout_id:str}")
    async def change(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        db_session: AsyncSession,
        checkout_id: str,
        data: CheckoutChanges,
    ) -> CheckoutView:
        """Set the email, the shipping address and/or the shipping method; totals follow."""
        return await checkouts.change(
            db_session,
            checkout_id,
            identity_of(request).owner_key,
            email=data.email,
            address=data.address,
            shipping_method=data.shipping_method,
            policy=services.shop_policy,
            promotions=services.promotions,
        )
