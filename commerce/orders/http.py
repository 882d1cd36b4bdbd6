"""Order doors: shoppers read their own orders; staff read all, pack, ship and deliver (cancel and refund:
commerce.payments.http)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.orders import fulfilment, views
from commerce.orders.models import OrderStatus
from commerce.orders.views import OrderPage, OrderView
from engage.http.guards import identity_of, shopper, staff
from engage.http.params import Offset
from engage.services import Services


class Shipment(msgspec.Struct, forbid_unknown_fields=True):
    tracking_number: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    carrier: Annotated[str, msgspec.Meta(max_length=40)] = ""
    expected_delivery: date | None = None  # default: the shipping method's slowest promise


def _actor(request: Request[Any, Any, Any]) -> str:
    return f"user:{identity_of(request).user_id}"


class OrderController(Controller):
    path = "/api/orders"
    tags = ["orders"]
    guards = [shopper]

    @get()
    async def mine(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        offset: Offset = 0,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
    ) -> OrderPage:
        """The asking shopper's orders (a guest's, until they sign in: then the account's)."""
        ident = identity_of(request)
        return await views.shopper_orders(
            db_session, owner=ident.owner_key, user_id=ident.user_id, offset=offset, limit=limit
        )

    @get("/{number:str}")
    async def one(self, request: Request[Any, Any, Any], db_session: AsyncSession, number: str) -> OrderView:
        ident = identity_of(request)
        return await views.shopper_order(db_session, number, owner=ident.owner_key, user_id=ident.user_id)


class StaffOrderController(Controller):
    path = "/api/staff/orders"
    tags = ["orders (staff)"]
    guards = [staff]

    @get()
    async def all(
        self,
        db_session: AsyncSession,
        status: OrderStatus | None = None,
        q: str = "",
        offset: Offset = 0,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 50,
    ) -> OrderPage:
        """Every order, newest first; `q` is an order number or an email."""
        return await views.staff_orders(
            db_session, status=status.value if status else None, q=q, offset=offset, limit=limit
        )

    @get("/{number:str}")
    async def one(self, db_session: AsyncSession, number: str) -> OrderView:
        return await views.staff_order(db_session, number)

    @post("/{number:str}/fulfil", status_code=200)
    async def fulfil(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, number: str
    ) -> OrderView:
        return await fulfilment.fulfil(db_session, number, actor=_actor(request))

    @post("/{number:str}/ship", status_code=200)
    async def ship(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        db_session: AsyncSession,
        number: str,
        data: Shipment,
    ) -> OrderView:
        return await fulfilment.ship(
            db_session,
            number,
            actor=_actor(request),
            tracking_number=data.tracking_number,
            carrier=data.carrier,
            expected_delivery=data.expected_delivery,
            shipping=services.shop_policy.shipping,
        )

    @post("/{number:str}/deliver", status_code=200)
    async def deliver(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, number: str
    ) -> OrderView:
        return await fulfilment.deliver(db_session, number, actor=_actor(request))
