"""Storefront pages of the catalog (listing, product page) and the staff catalog page."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, get
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.drafts import HANDLE_PATTERN
from commerce.catalog.images import URL_PREFIX, product_svg
from commerce.catalog.listing import ListingPage, ListingQuery, Sort
from commerce.catalog.storefront import (
    categories_json,
    listing_json,
    product_document,
    product_with_stock,
    viewed,
)
from engage.http.guards import identity_of, public
from engage.http.pages import not_found, page, staff_page
from engage.platform.errors import InvalidInput, NotFound
from engage.platform.identity import Role
from engage.services import Services

SORTS: list[tuple[Sort, str]] = [
    ("newest", "Newest"),
    ("popularity", "Most popular"),
    ("price_asc", "Price: low to high"),
    ("price_desc", "Price: high to low"),
]
_SORT_OF: dict[str, Sort] = {value: value for value, _ in SORTS}


def _whole(value: str | None) -> int | None:
    """A price typed in whole currency units ("25") as minor units; anything else is ignored."""
    value = (value or "").strip()
    return int(value) * 100 if value.isdigit() and len(value) < 9 else None


def _find(nodes: list[dict[str, Any]], slug: str) -> dict[str, Any] | None:
    for node in nodes:
        if node["slug"] == slug:
            return node
        if (hit := _find(node["children"], slug)) is not None:
            return hit
    return None


@get("/", guards=[public], include_in_schema=False)
async def shop_page(
    request: Request[Any, Any, Any], services: Services, db_session: AsyncSession
) -> Template:
    cache, currency = services.catalog_cache, services.settings.currency
    params = request.query_params
    sort = params.get("sort") or "newest"
    error = None
    try:
        query = ListingQuery(
            category=params.get("category") or None,
            min_price=_whole(params.get("min")),
            max_price=_whole(params.get("max")),
            in_stock=params.get("in_stock") == "true",
            tag=(params.get("tag") or "").strip()[:60] or None,
            sort=_SORT_OF.get(sort, "newest"),
            cursor=params.get("cursor") or None,
        )
        listing = msgspec.json.decode(
            await listing_json(cache, db_session, query, currency=currency), type=ListingPage
        )
    except InvalidInput as exc:
        error, query = exc.message, ListingQuery()
        listing = msgspec.json.decode(
            await listing_json(cache, db_session, query, currency=currency), type=ListingPage
        )
    categories = msgspec.json.decode(await categories_json(cache, db_session))
    current = {k: v for k, v in params.items() if k != "cursor" and v}

    def link(**changes: str | None) -> str:
        merged = {**current, **changes}
        if "cursor" not in changes:
            merged.pop("cursor", None)
        query_string = urlencode({k: v for k, v in merged.items() if v})
        return "/?" + query_string if query_string else "/"

    category = _find(categories, query.category) if query.category else None
    tags = sorted({t for item in listing.items for t in item.tags})[:30]
    return page(
        request,
        "shop/listing.html",
        listing=listing,
        query=query,
        categories=categories,
        category_name=category["name"] if category else None,
        form={"min": params.get("min", ""), "max": params.get("max", "")},
        sorts=SORTS,
        tags=tags,
        link=link,
        error=error,
    )


@get("/products/{handle:str}", guards=[public], include_in_schema=False)
async def product_page(
    request: Request[Any, Any, Any], services: Services, db_session: AsyncSession, handle: str
) -> Template:
    try:
        product = await product_with_stock(
            services.catalog_cache, db_session, handle, currency=services.settings.currency
        )
    except NotFound:
        return not_found(request, "We could not find that product. It may have been removed.")
    await viewed(db_session, handle, identity_of(request))
    return page(request, "shop/product.html", product=product)


_HANDLE = re.compile(HANDLE_PATTERN)
# the picture is drawn by this site and holds no script; it may not load anything either
_PICTURE_HEADERS = {
    "Cache-Control": "public, max-age=86400",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}


@get(URL_PREFIX + "{name:str}", guards=[public], include_in_schema=False)
async def product_picture(services: Services, db_session: AsyncSession, name: str) -> Response[str]:
    """A product's picture drawn from its category, brand and name (products that bring no photo)."""
    handle = name.removesuffix(".svg")
    if not name.endswith(".svg") or not _HANDLE.match(handle):
        raise NotFound(f"no picture {name}")
    product = await product_document(
        services.catalog_cache, db_session, handle, currency=services.settings.currency
    )
    category = product.category_path[0].name if product.category_path else ""
    return Response(
        product_svg(product.name, product.brand, category),
        media_type="image/svg+xml",
        headers=_PICTURE_HEADERS,
    )


@get("/admin/catalog", guards=[public], include_in_schema=False)
async def admin_catalog_page(request: Request[Any, Any, Any], services: Services) -> Template | Redirect:
    """The page is a shell for the staff catalog API, which checks the role on every call. Prices are typed
    in the shop's currency units; the page sends minor units."""
    return staff_page(
        request, "admin/catalog.html", (Role.marketer,), currency=services.settings.currency.upper()
    )


@get("/admin/stock", guards=[public], include_in_schema=False)
async def admin_stock_page(request: Request[Any, Any, Any]) -> Template | Redirect:
    """The stock room: levels, low and out-of-stock lists, receive, count and adjust, each variant's ledger."""
    return staff_page(request, "admin/stock.html", (Role.marketer,))


catalog_pages = [shop_page, product_page, product_picture, admin_catalog_page, admin_stock_page]
