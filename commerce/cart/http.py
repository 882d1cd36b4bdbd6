"""Cart door: the asking shopper's own cart (by their owner key), nobody else's."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.cart import carts
from commerce.cart.carts import MAX_LINE_QUANTITY, CartView
from engage.http.guards import identity_of, shopper
from engage.http.params import Id
from engage.services import Services


class AddLine(msgspec.Struct, forbid_unknown_fields=True):
    variant_id: int
    quantity: Annotated[int, msgspec.Meta(ge=1, le=MAX_LINE_QUANTITY)] = 1


class SetQuantity(msgspec.Struct, forbid_unknown_fields=True):
    quantity: Annotated[int, msgspec.Meta(ge=0, le=MAX_LINE_QUANTITY)]


async def cart_of(request: Request[Any, Any, Any], services: Services, session: AsyncSession) -> CartView:
    ident = identity_of(request)
    runtime = services.runtime
    return await carts.view(
        session,
        ident.owner_key,
        user_id=ident.user_id,
        currency=runtime.settings.currency,
        promotions=services.promotions,
    )


class CartController(Controller):
    path = "/api/cart"
    tags = ["cart"]
    guards = [shopper]

    @get()
    async def show(
        self, request: Request[Any, Any, Any], services: Services, db_session: AsyncSession
    ) -> CartView:
        """Lines with their current price and what is available; `problems` lists what blocks checkout."""
        return await cart_of(request, services, db_session)

    @post("/lines", status_code=200)
    async def add(
        self, request: Request[Any, Any, Any], services: Services, db_session: AsyncSession, data: AddLine
    ) -> CartView:
        await carts.set_quantity(
            db_session, identity_of(request).owner_key, data.variant_id, data.quantity, add=True
        )
        return await cart_of(request, services, db_session)

    @put("/lines/{variant_id:int}")
    async def set(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        db_session: AsyncSession,
        variant_id: Id,
        data: SetQuantity,
    ) -> CartView:
        """Set a line's quantity; 0 removes it."""
        await carts.set_quantity(db_session, identity_of(request).owner_key, variant_id, data.quantity)
        return await cart_of(request, services, db_session)

    @delete("/lines/{variant_id:int}", status_code=200)
    async def remove(
        self, request: Request[Any, Any, Any], services: Services, db_session: AsyncSession, variant_id: Id
    ) -> CartView:
        await carts.set_quantity(db_session, identity_of(request).owner_key, variant_id, 0)
        return await cart_of(request, services, db_session)
