"""The marketers' dashboard page."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Redirect, Template

from engage.http.guards import public
from engage.http.pages import staff_page
from engage.platform.identity import Role
from engage.services import Services


@get("/marketing/analytics", guards=[public], include_in_schema=False)
async def analytics_page(request: Request[Any, Any, Any], services: Services) -> Template | Redirect:
    """Today's tiles live, sales by day against the period before, top products, support and search."""
    settings = services.settings
    return staff_page(
        request,
        "marketing/analytics.html",
        (Role.marketer,),
        timezone=settings.push_default_timezone,
        currency=settings.currency.upper(),
    )


analytics_pages = [analytics_page]
