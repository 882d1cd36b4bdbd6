"""Storefront pages of a shopper's own orders."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.orders import views
from engage.http.guards import identity_of, public, shopper
from engage.http.pages import not_found, page, staff_page
from engage.platform.errors import NotFound
from engage.platform.identity import Role

STAFF = (Role.agent, Role.marketer)  # as the staff order API (admins pass every role check)


@get("/orders", guards=[shopper], include_in_schema=False)
async def orders_page(request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    ident = identity_of(request)
    orders = await views.shopper_orders(db_session, owner=ident.owner_key, user_id=ident.user_id, limit=50)
    return page(request, "shop/orders.html", orders=orders)


@get("/orders/{number:str}", guards=[shopper], include_in_schema=False)
async def order_page(
    request: Request[Any, Any, Any], db_session: AsyncSession, number: str, paid: str = ""
) -> Template:
    ident = identity_of(request)
    try:
        order = await views.shopper_order(db_session, number, owner=ident.owner_key, user_id=ident.user_id)
    except NotFound:
        return not_found(request, f"You have no order {number}.")
    return page(request, "shop/order.html", order=order, just_paid=paid == "1" and order.status == "paid")


@get("/admin/orders", guards=[public], include_in_schema=False)
async def staff_orders_page(request: Request[Any, Any, Any]) -> Template | Redirect:
    return staff_page(request, "admin/orders.html", STAFF)


@get("/admin/orders/{number:str}", guards=[public], include_in_schema=False)
async def staff_order_page(request: Request[Any, Any, Any], number: str) -> Template | Redirect:
    return staff_page(request, "admin/order.html", STAFF, number=number.strip().upper()[:40])


order_pages = [orders_page, order_page, staff_orders_page, staff_order_page]
