"""The public catalog: filtered, sorted listing with keyset pagination, and the product page.

A cursor is opaque to clients: base64url of (sort, last row's sort value, last row's id). Each sort has an
index (status, key, id), so a page costs the same at the thousandth page as at the first.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from sqlalchemy import ColumnElement, and_, cast, exists, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.categories import CategoryNode, path_of, subtree_ids, tree
from commerce.catalog.models import Product, Variant
from commerce.inventory.models import StockLevel
from engage.platform.db import BIGINT_MAX, INT_MAX
from engage.platform.errors import InvalidInput

Sort = Literal["newest", "price_asc", "price_desc", "popularity"]
SORTS: tuple[str, ...] = ("newest", "price_asc", "price_desc", "popularity")
MAX_LIMIT = 60


class CategoryRef(msgspec.Struct):
    slug: str
    name: str


class VariantCard(msgspec.Struct):
    id: int
    sku: str
    options: dict[str, str]
    price_cents: int
    compare_at_cents: int | None


class ProductCard(msgspec.Struct):
    handle: str
    name: str
    brand: str
    price_cents: int
    compare_at_cents: int | None
    currency: str
    in_stock: bool
    category: CategoryRef | None
    tags: list[str]
    image: str | None
    variants: list[VariantCard]


class ListingPage(msgspec.Struct):
    items: list[ProductCard]
    next_cursor: str | None


class VariantView(msgspec.Struct):
    id: int
    sku: str
    options: dict[str, str]
    price_cents: int
    compare_at_cents: int | None
    weight_grams: int
    available: int | None = None  # filled per request, never cached


class ProductView(msgspec.Struct):
    handle: str
    name: str
    brand: str
    description: str
    status: str
    currency: str
    price_cents: int
    category_path: list[CategoryRef]
    tags: list[str]
    attributes: dict[str, Any]
    images: list[str]
    variants: list[VariantView]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ListingQuery:
    category: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    in_stock: bool = False
    tag: str | None = None
    sort: Sort = "newest"
    cursor: str | None = None
    limit: int = 24

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise InvalidInput(f"sort must be one of {', '.join(SORTS)}", field="sort")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be 1 to {MAX_LIMIT}", field="limit")
        for name in ("min_price", "max_price"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise InvalidInput(f"{name} cannot be negative", field=name)
        if self.min_price is not None and self.max_price is not None and self.min_price > self.max_price:
            raise InvalidInput("min_price is above max_price", field="min_price")

    def cache_key(self) -> str:
        return msgspec.json.encode(
            [
                self.category,
                self.min_price,
                self.max_price,
                self.in_stock,
                self.tag,
                self.sort,
                self.cursor,
                self.limit,
            ]
        ).decode()


# ---- cursors -----------------------------------------------------------------------------------------------


def _encode_cursor(sort: str, value: Any, row_id: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = msgspec.json.encode([sort, value, row_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# (sort, the last row's sort value: a price or a time, the last row's id), each within its column's range
_Cursor = tuple[
    str,
    Annotated[int, msgspec.Meta(ge=-INT_MAX, le=INT_MAX)] | Annotated[str, msgspec.Meta(max_length=40)],
    Annotated[int, msgspec.Meta(ge=0, le=BIGINT_MAX)],
]
_decode_cursor_json = msgspec.json.Decoder(_Cursor).decode


def _decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, raw_value, row_id = _decode_cursor_json(raw)
        if cursor_sort != sort:
            raise ValueError
        value: datetime | int
        if sort == "newest" and isinstance(raw_value, str):
            value = datetime.fromisoformat(raw_value)
        elif sort != "newest" and isinstance(raw_value, int):
            value = raw_value
        else:
            raise ValueError
    except (ValueError, TypeError, binascii.Error, msgspec.DecodeError, msgspec.ValidationError):
        raise InvalidInput(
            "this cursor does not belong to this listing; start again", field="cursor"
        ) from None
    return value, row_id


def _sort_key(sort: str) -> tuple[Any, bool]:
    """(column, descending)"""
    return {
        "newest": (Product.created_at, True),
        "price_asc": (Product.min_price_cents, False),
        "price_desc": (Product.min_price_cents, True),
        "popularity": (Product.popularity, True),
    }[sort]


# ---- queries -----------------------------------------------------------------------------------------------


def _has_tag(dialect: str, tag: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return cast(Product.tags, JSONB).contains([tag])
    each = func.json_each(Product.tags).table_valued("value")
    return exists(select(1).select_from(each).where(each.c.value == tag))


_IN_STOCK = (
    exists()
    .where(
        Variant.product_id == Product.id,
        StockLevel.variant_id == Variant.id,
        StockLevel.on_hand > StockLevel.reserved,
    )
    .correlate(Product)
)


def _refs(roots: list[CategoryNode]) -> dict[int, CategoryRef]:
    out: dict[int, CategoryRef] = {}
    stack = list(roots)
    while stack:
        node = stack.pop()
        out[node.id] = CategoryRef(node.slug, node.name)
        stack.extend(node.children)
    return out


async def list_products(session: AsyncSession, query: ListingQuery, *, currency: str) -> ListingPage:
    roots = await tree(session)
    column, descending = _sort_key(query.sort)
    stmt = select(Product, _IN_STOCK.label("in_stock")).where(Product.status == "published")
    if query.category:
        ids = subtree_ids(roots, query.category)
        if ids is None:
            return ListingPage(items=[], next_cursor=None)
        stmt = stmt.where(Product.category_id.in_(ids))
    if query.min_price is not None:
        stmt = stmt.where(Product.min_price_cents >= query.min_price)
    if query.max_price is not None:
        stmt = stmt.where(Product.min_price_cents <= query.max_price)
    if query.in_stock:
        stmt = stmt.where(_IN_STOCK)
    if query.tag:
        stmt = stmt.where(_has_tag(session.get_bind().dialect.name, query.tag))
    if query.cursor:
        value, last_id = _decode_cursor(query.cursor, query.sort)
        if descending:
            stmt = stmt.where(or_(column < value, and_(column == value, Product.id < last_id)))
        else:
            stmt = stmt.where(or_(column > value, and_(column == value, Product.id > last_id)))
    order = (column.desc(), Product.id.desc()) if descending else (column.asc(), Product.id.asc())
    rows = (await session.execute(stmt.order_by(*order).limit(query.limit + 1))).all()
    more = len(rows) > query.limit
    rows = rows[: query.limit]

    variants = await _variants_of(session, [row.Product.id for row in rows])
    refs = _refs(roots)
    items = []
    for row in rows:
        product: Product = row.Product
        own = variants.get(product.id, [])
        cheapest = min(own, key=lambda v: v.price_cents, default=None)
        items.append(
            ProductCard(
                handle=product.handle,
                name=product.name,
                brand=product.brand,
                price_cents=product.min_price_cents,
                compare_at_cents=cheapest.compare_at_cents if cheapest else None,
                currency=currency,
                in_stock=bool(row.in_stock),
                category=refs.get(product.category_id) if product.category_id else None,
                tags=list(product.tags),
                image=product.images[0] if product.images else None,
                variants=own,
            )
        )
    next_cursor = None
    if more and rows:
        last: Product = rows[-1].Product
        next_cursor = _encode_cursor(query.sort, getattr(last, column.key), last.id)
    return ListingPage(items=items, next_cursor=next_cursor)


async def _variants_of(session: AsyncSession, product_ids: Sequence[int]) -> dict[int, list[VariantCard]]:
    if not product_ids:
        return {}
    rows = await session.execute(
        select(
            Variant.product_id,
            Variant.id,
            Variant.sku,
            Variant.options,
            Variant.price_cents,
            Variant.compare_at_cents,
        )
        .where(Variant.product_id.in_(product_ids))
        .order_by(Variant.product_id, Variant.position, Variant.id)
    )
    out: dict[int, list[VariantCard]] = {}
    for r in rows:
        out.setdefault(r.product_id, []).append(
            VariantCard(r.id, r.sku, dict(r.options or {}), r.price_cents, r.compare_at_cents)
        )
    return out


async def product_view(
    session: AsyncSession, handle: str, *, currency: str, include_drafts: bool = False
) -> ProductView | None:
    """A product page's data without stock figures (those change too often to cache)."""
    stmt = select(Product).where(Product.handle == handle)
    if not include_drafts:
        stmt = stmt.where(Product.status == "published")
    product = await session.scalar(stmt)
    if product is None:
        return None
    rows = (
        await session.scalars(
            select(Variant).where(Variant.product_id == product.id).order_by(Variant.position, Variant.id)
        )
    ).all()
    roots = await tree(session)
    return ProductView(
        handle=product.handle,
        name=product.name,
        brand=product.brand,
        description=product.description,
        status=product.status,
        currency=currency,
        price_cents=product.min_price_cents,
        category_path=[CategoryRef(n.slug, n.name) for n in path_of(roots, product.category_id)],
        tags=list(product.tags),
        attributes=dict(product.attributes),
        images=list(product.images),
        variants=[
            VariantView(v.id, v.sku, dict(v.options or {}), v.price_cents, v.compare_at_cents, v.weight_grams)
            for v in rows
        ],
        created_at=product.created_at,
        updated_at=product.updated_at,
    )


async def category_tree(session: AsyncSession) -> list[dict[str, Any]]:
    def node(n: CategoryNode) -> dict[str, Any]:
        return {"slug": n.slug, "name": n.name, "children": [node(c) for c in n.children]}

    return [node(n) for n in await tree(session)]
