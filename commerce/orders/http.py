"""Order doors: shoppers read their own orders; staff read all, pack, ship and deliver (cancel and refund:
commerce.payments.http)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.orders import fulfilment, notes, views
from commerce.orders.models import OrderStatus
from commerce.orders.views import OrderFilter, OrderPage, OrderView
from engage.http.guards import identity_of, shopper, staff
from engage.http.params import Offset, OptionalId
from engage.services import Services


class Shipment(msgspec.Struct, forbid_unknown_fields=True):
    tracking_number: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    carrier: Annotated[str, msgspec.Meta(max_length=40)] = ""
    expected_delivery: date | None = None  # default: the shipping method's slowest promise


class Note(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


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
        q: Annotated[str, Parameter(max_length=200)] = "",
        since: Annotated[datetime | None, Parameter(query="from", description="placed at or after")] = None,
        until: Annotated[datetime | None, Parameter(query="to", description="placed before")] = None,
        payment: Literal["unpaid", "paid", "refunded", "partially_refunded"] | None = None,
        fulfilment: Literal["unfulfilled", "fulfilled", "shipped", "delivered"] | None = None,
        before: OptionalId = None,
        offset: Offset = 0,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 50,
    ) -> OrderPage:
        """Every order, newest first. `q`: an order number, an email, or a product's name or SKU. Pages
        with `before` = the previous page's `next_before`."""
        found = OrderFilter(
            status=status.value if status else None,
            q=q,
            since=since,
            until=until,
            payment=payment,
            fulfilment=fulfilment,
        )
        return await views.staff_orders(db_session, found, before=before, offset=offset, limit=limit)

    @get("/{number:str}")
    async def one(self, db_session: AsyncSession, number: str) -> OrderView:
        return await views.staff_order(db_session, number)

    @post("/{number:str}/notes", status_code=200)
    async def add_note(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, number: str, data: Note
    ) -> OrderView:
        """A note for staff on the order's timeline (shoppers never see it)."""
        return await notes.add_note(db_session, number, data.text, actor=_actor(request))

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
