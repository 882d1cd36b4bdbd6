"""Catalog doors: the public listing and product page (cached), and the staff catalog API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.openapi import ResponseSpec
from litestar.params import Body, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog import backoffice, stock_room
from commerce.catalog.drafts import HANDLE_PATTERN, Handle, ProductChange, ProductDraft
from commerce.catalog.importing import detect_format, import_catalog
from commerce.catalog.listing import (
    ListingPage,
    ListingQuery,
    ProductView,
    Sort,
)
from commerce.catalog.storefront import categories_json, listing_json, product_with_stock
from engage.http.conditional import conditional_json
from engage.http.guards import identity_of, marketer, public
from engage.http.params import Id, Offset, OptionalCents, OptionalId
from engage.http.shared_responses import OPT as SHARED_RESPONSE
from engage.platform.errors import InvalidInput
from engage.services import Services

# A handle in a path that names a product to create: the same rule as a created product's `handle`.
# the same bytes for every visitor, by the catalog cache's generation (served before per-visitor middleware)
SHARED = {SHARED_RESPONSE: "catalog"}
HandleParam = Annotated[str, Parameter(pattern=HANDLE_PATTERN, description="public id, e.g. aud-001")]


class CatalogController(Controller):
    path = "/api"
    tags = ["catalog"]

    @get(
        "/products",
        guards=[public],
        opt=SHARED,
        responses={
            200: ResponseSpec(data_container=ListingPage, description="a page of published products"),
            304: ResponseSpec(None, description="unchanged since the ETag sent in If-None-Match"),
        },
    )
    async def listing(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        db_session: AsyncSession,
        category: str | None = None,
        min_price: OptionalCents = None,
        max_price: OptionalCents = None,
        in_stock: bool = False,
        tag: str | None = None,
        sort: Sort = "newest",
        cursor: str | None = None,
        limit: Annotated[int, Parameter(ge=1, le=60)] = 24,
    ) -> Response[bytes]:
        """Published products: filter by category (with its subcategories), price range in minor units,
        availability and tag; sort by newest, price or popularity; `next_cursor` fetches the next page."""
        query = ListingQuery(category, min_price, max_price, in_stock, tag, sort, cursor, limit)
        body = await listing_json(
            services.catalog_cache, db_session, query, currency=services.settings.currency
        )
        return conditional_json(request, body)

    @get("/products/{handle:str}", guards=[public])
    async def product(self, services: Services, db_session: AsyncSession, handle: str) -> ProductView:
        """A published product with its variants and what is available of each right now."""
        return await product_with_stock(
            services.catalog_cache, db_session, handle, currency=services.settings.currency
        )

    @get("/categories", guards=[public], opt=SHARED)
    async def categories(
        self, request: Request[Any, Any, Any], services: Services, db_session: AsyncSession
    ) -> Response[bytes]:
        """The category tree (slugs filter the listing)."""
        return conditional_json(request, await categories_json(services.catalog_cache, db_session))


# ---- staff ---------------------------------------------------------------------------------------------------


class NewProduct(ProductDraft, forbid_unknown_fields=True):
    handle: Handle = ""


class StockCount(msgspec.Struct, forbid_unknown_fields=True):
    restock: Annotated[int, msgspec.Meta(gt=0, le=10_000_000)] | None = None
    on_hand: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)] | None = None
    delta: Annotated[int, msgspec.Meta(ge=-10_000_000, le=10_000_000)] | None = None
    low_stock_threshold: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] | None = None
    note: Annotated[str, msgspec.Meta(max_length=300)] = ""


class StockLevelOut(msgspec.Struct):
    variant_id: int
    on_hand: int
    reserved: int
    available: int
    low_stock_threshold: int


class ImportProblem(msgspec.Struct):
    where: str
    reason: str


class ImportResult(msgspec.Struct):
    created: list[str]
    updated: list[str]
    variants: int
    problems: list[ImportProblem]


class ImportForm(msgspec.Struct):
    file: UploadFile


def _actor(request: Request[Any, Any, Any]) -> str:
    return f"user:{identity_of(request).user_id}"


class CatalogAdminController(Controller):
    """Marketers and admins edit the catalog."""

    path = "/api/admin"
    tags = ["catalog admin"]
    guards = [marketer]

    @get("/products")
    async def products(
        self,
        db_session: AsyncSession,
        q: str = "",
        status: Literal["published", "draft"] | None = None,
        offset: Offset = 0,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> backoffice.StaffProductPage:
        return await backoffice.staff_products(db_session, q=q, status=status, offset=offset, limit=limit)

    @get("/products/{handle:str}")
    async def product(self, db_session: AsyncSession, handle: str) -> backoffice.StaffProduct:
        return await backoffice.staff_product(db_session, handle)

    @post("/products", status_code=201)
    async def create(
        self, request: Request[Any, Any, Any], services: Services, db_session: AsyncSession, data: NewProduct
    ) -> backoffice.StaffProduct:
        if not data.handle:
            raise InvalidInput("handle is required", field="handle")
        draft = msgspec.convert(
            {k: v for k, v in msgspec.structs.asdict(data).items() if k != "handle"},
            ProductDraft,
            from_attributes=True,
        )
        product, _ = await backoffice.put_product(
            db_session,
            data.handle,
            draft,
            default_threshold=services.settings.low_stock_threshold,
            cache=services.catalog_cache,
            actor=_actor(request),
            create_only=True,
        )
        return product

    @put("/products/{handle:str}")
    async def replace(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        db_session: AsyncSession,
        handle: HandleParam,
        data: ProductDraft,
    ) -> backoffice.StaffProduct:
        """Create or replace a product; variants are matched by SKU, `stock` on a variant sets its count."""
        product, _ = await backoffice.put_product(
            db_session,
            handle,
            data,
            default_threshold=services.settings.low_stock_threshold,
            cache=services.catalog_cache,
            actor=_actor(request),
        )
        return product

    @patch("/products/{handle:str}")
    async def change(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        db_session: AsyncSession,
        handle: HandleParam,
        data: ProductChange,
    ) -> backoffice.StaffProduct:
        """Edit in place: the name, status, images, or variants' prices given change, the rest stays; 409
        `stale` when the product was saved since `updated_at` (the version the editor saw)."""
        return await backoffice.change_product(
            db_session,
            handle,
            data,
            default_threshold=services.settings.low_stock_threshold,
            cache=services.catalog_cache,
            actor=_actor(request),
        )

    @delete("/products/{handle:str}", status_code=204)
    async def remove(self, services: Services, db_session: AsyncSession, handle: str) -> None:
        await backoffice.remove_product(db_session, handle, cache=services.catalog_cache)

    @post("/catalog/import", status_code=200)
    async def import_file(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        db_session: AsyncSession,
        data: Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> ImportResult:
        """Upload a JSON or CSV catalog file; the answer lists what landed and each bad row with its reason."""
        content = await data.file.read()
        report = await import_catalog(
            db_session,
            content,
            fmt=detect_format(data.file.filename or "", content),
            default_threshold=services.settings.low_stock_threshold,
            cache=services.catalog_cache,
            reference=_actor(request),
        )
        return ImportResult(
            created=report.created,
            updated=report.updated,
            variants=report.variants,
            problems=[ImportProblem(p.where, p.reason) for p in report.problems],
        )

    @post("/variants/{variant_id:int}/stock", status_code=200)
    async def stock(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, variant_id: Id, data: StockCount
    ) -> StockLevelOut:
        """Receive units (`restock`), correct the count (`on_hand` or `delta`), set the low-stock threshold."""
        if data.on_hand is not None and data.delta is not None:
            raise InvalidInput("give on_hand or delta, not both")
        level = await backoffice.count_stock(
            db_session,
            variant_id,
            actor=_actor(request),
            restock=data.restock,
            on_hand=data.on_hand,
            delta=data.delta,
            threshold=data.low_stock_threshold,
            note=data.note,
        )
        return StockLevelOut(variant_id, level.on_hand, level.reserved, level.available, level.threshold)

    @get("/stock")
    async def stock_room(
        self,
        db_session: AsyncSession,
        showing: stock_room.Showing = "all",
        q: Annotated[str, Parameter(max_length=200, description="part of a product name, or a SKU")] = "",
        after: OptionalId = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        cover_days: Annotated[int, Parameter(ge=1, le=365, description="days of sales to reorder for")] = 30,
    ) -> stock_room.StockPage:
        """Variants with on hand, reserved, available and threshold (`showing`: all, low or out), what sold
        in the last 30 days and a suggested reorder quantity."""
        return await stock_room.stock_room(
            db_session, showing=showing, q=q, after=after, limit=limit, cover_days=cover_days
        )

    @get("/variants/{variant_id:int}/ledger")
    async def ledger(
        self, db_session: AsyncSession, variant_id: Id, limit: Annotated[int, Parameter(ge=1, le=500)] = 100
    ) -> list[backoffice.Movement]:
        return await backoffice.ledger(db_session, variant_id, limit=limit)


__all__ = [
    "CatalogAdminController",
    "CatalogController",
    "ListingPage",
]
