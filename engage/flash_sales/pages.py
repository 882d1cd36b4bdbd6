"""The marketing console (`/marketing`): flash sales to plan, and a live page per sale."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from engage.announcements import MAX_CHARS as ANNOUNCEMENT_CHARS
from engage.announcements import MAX_MINUTES as ANNOUNCEMENT_MAX_MINUTES
from engage.flash_sales import schedule
from engage.flash_sales.schedule import MAX_ITEMS, MAX_LIMIT
from engage.http.guards import identity_of, public
from engage.http.pages import not_found, staff_page
from engage.http.params import Id
from engage.platform.identity import Role


@get("/marketing", guards=[public], include_in_schema=False)
async def marketing_page(request: Request[Any, Any, Any], state: State) -> Template | Redirect:
    """Marketers and admins: every flash sale and a form to plan one; site announcements."""
    return staff_page(
        request,
        "marketing/index.html",
        (Role.marketer,),
        currency=state.runtime.settings.currency.upper(),
        max_items=MAX_ITEMS,
        max_limit=MAX_LIMIT,
        announcement_chars=ANNOUNCEMENT_CHARS,
        announcement_max_minutes=ANNOUNCEMENT_MAX_MINUTES,
    )


@get("/marketing/sales/{sale_id:int}", guards=[public], include_in_schema=False)
async def sale_page(
    request: Request[Any, Any, Any], state: State, sale_id: Id, db_session: AsyncSession
) -> Template | Redirect:
    """One sale, live: units left, claims per second, conversion, revenue; edit, publish, cancel."""
    if identity_of(request).has_role(Role.marketer) and await schedule.find(db_session, sale_id) is None:
        return not_found(request, f"There is no flash sale #{sale_id}.")
    return staff_page(
        request,
        "marketing/sale.html",
        (Role.marketer,),
        sale_id=sale_id,
        currency=state.runtime.settings.currency.upper(),
    )


marketing_pages = [marketing_page, sale_page]
