"""The staff's reviews page: the newest reviews, hidden or shown again with a reason."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Redirect, Template

from engage.http.guards import public
from engage.http.pages import staff_page
from engage.platform.identity import Role


@get("/admin/reviews", guards=[public], include_in_schema=False)
async def reviews_page(request: Request[Any, Any, Any]) -> Template | Redirect:
    return staff_page(request, "admin/reviews.html", (Role.agent, Role.marketer))


review_pages = [reviews_page]
