"""The back office's customer pages."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Redirect, Template

from engage.http.guards import public
from engage.http.pages import staff_page
from engage.platform.identity import Role
from engage.services import Services

STAFF = (Role.agent, Role.marketer)


@get("/admin/customers", guards=[public], include_in_schema=False)
async def customers_page(request: Request[Any, Any, Any], services: Services) -> Template | Redirect:
    return staff_page(request, "admin/customers.html", STAFF, currency=services.settings.currency.upper())


@get("/admin/customers/{user_id:int}", guards=[public], include_in_schema=False)
async def customer_page(
    request: Request[Any, Any, Any], services: Services, user_id: int
) -> Template | Redirect:
    return staff_page(
        request, "admin/customer.html", STAFF, user_id=user_id, currency=services.settings.currency.upper()
    )


customer_pages = [customers_page, customer_page]
