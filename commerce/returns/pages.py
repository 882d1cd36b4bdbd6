"""The staff's returns page: parcels to receive (refund, restock) or reject."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Redirect, Template

from engage.http.guards import public
from engage.http.pages import staff_page
from engage.platform.identity import Role


@get("/admin/returns", guards=[public], include_in_schema=False)
async def returns_page(request: Request[Any, Any, Any]) -> Template | Redirect:
    return staff_page(request, "admin/returns.html", (Role.agent, Role.marketer))


return_pages = [returns_page]
