"""The storefront's search results page (server-rendered; search.js adds as-you-type and click tracking)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, get
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from bots.search import analytics
from bots.search.http import response_of
from bots.search.service import Filters
from engage.http.guards import identity_of, public
from engage.http.pages import page, staff_page
from engage.platform.errors import InvalidInput
from engage.platform.identity import Role
from engage.services import Services


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@get("/search", guards=[public], include_in_schema=False)
async def search_page(
    request: Request[Any, Any, Any], services: Services, db_session: AsyncSession
) -> Template:
    params = request.query_params
    q = (params.get("q") or "").strip()[:200]
    filters = Filters(
        category=params.get("category") or None,
        brand=params.get("brand") or None,
        min_price=_int(params.get("min_price")),
        max_price=_int(params.get("max_price")),
        in_stock=True if params.get("in_stock") == "true" else None,
    )
    sort = params.get("sort") or "relevance"
    result, error, search_id = None, None, None
    if q:
        try:
            found = await services.bots.search.search(
                db_session, q, filters=filters, sort=sort, cursor=params.get("cursor") or None
            )
        except InvalidInput as exc:
            error = exc.message
        else:
            if not params.get("cursor"):
                ident = identity_of(request)
                owner = ident.owner_key if (ident.user_id or ident.guest_id) else None
                search_id = await analytics.log_search(db_session, found.query, found.total, owner)
            result = response_of(found, search_id)

    current = {k: v for k, v in params.items() if k != "cursor" and v}

    def link(**changes: str | None) -> str:
        merged = {**current, **changes}
        return "/search?" + urlencode({k: v for k, v in merged.items() if v})

    return page(
        request,
        "search/results.html",
        q=q,
        result=result,
        error=error,
        sort=sort,
        filters=filters,
        link=link,
        current=current,
    )


@get("/console/search", guards=[public], include_in_schema=False)
async def search_console_page(request: Request[Any, Any, Any]) -> Any:
    """Marketers and admins: what shoppers search for, what found nothing, and the shop's own synonyms."""
    return staff_page(request, "console/search.html", (Role.marketer,))


search_pages = [search_page, search_console_page]
