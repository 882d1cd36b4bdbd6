"""What shoppers read of the catalog: listing pages, product documents and the category tree, through the
cache (the API and the pages serve the same bytes); availability is read live on top."""

from __future__ import annotations

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from commerce import inventory
from commerce.catalog.cache import CatalogCache
from commerce.catalog.events import ProductViewed
from commerce.catalog.listing import ListingQuery, ProductView, category_tree, list_products, product_view
from engage.platform.errors import NotFound
from engage.platform.events import record
from engage.platform.identity import Identity


async def listing_json(
    cache: CatalogCache, session: AsyncSession, query: ListingQuery, *, currency: str
) -> bytes:
    async def build() -> bytes:
        return msgspec.json.encode(await list_products(session, query, currency=currency))

    return await cache.get_or_build("list", query.cache_key(), build)


async def categories_json(cache: CatalogCache, session: AsyncSession) -> bytes:
    async def build() -> bytes:
        return msgspec.json.encode(await category_tree(session))

    return await cache.get_or_build("categories", "", build)


async def product_document(
    cache: CatalogCache, session: AsyncSession, handle: str, *, currency: str
) -> ProductView:
    """The cached product document (availability not filled in)."""

    async def build() -> bytes:
        view = await product_view(session, handle, currency=currency)
        if view is None:
            raise NotFound(f"no product {handle}")  # not cached: unknown handles must not fill the cache
        return msgspec.json.encode(view)

    raw = await cache.get_or_build("product", handle, build)
    return msgspec.json.decode(raw, type=ProductView)


async def product_with_stock(
    cache: CatalogCache, session: AsyncSession, handle: str, *, currency: str
) -> ProductView:
    """The cached product document, with availability read live (it changes too often to cache)."""
    view = await product_document(cache, session, handle, currency=currency)
    levels = await inventory.levels(session, [v.id for v in view.variants])
    for variant in view.variants:
        level = levels.get(variant.id)
        variant.available = max(level.available, 0) if level else 0
    return view


async def viewed(session: AsyncSession, handle: str, visitor: Identity) -> None:
    """A visitor with a session opened the product's page (analytics' funnel counts it). Commits."""
    if visitor.user_id is not None or visitor.guest_id is not None:
        record(session, ProductViewed(handle=handle, visitor=visitor.owner_key))
        await session.commit()
