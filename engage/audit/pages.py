"""The audit trail page of the back office."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Redirect, Template

from engage.http.guards import public
from engage.http.pages import staff_page
from engage.platform.identity import Role


@get("/admin/audit", guards=[public], include_in_schema=False)
async def audit_page(request: Request[Any, Any, Any]) -> Template | Redirect:
    return staff_page(request, "admin/audit.html", (Role.admin,))


audit_pages = [audit_page]
