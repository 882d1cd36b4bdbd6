"""What staff do with the catalog: browse every product (drafts too), save, delete, count stock.

Each command commits and then drops the cached storefront pages, so the next shopper sees the change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from commerce import inventory
from commerce.catalog.cache import CatalogCache
from commerce.catalog.categories import path_of, tree
from commerce.catalog.drafts import ProductChange, ProductDraft, VariantDraft
from commerce.catalog.editing import delete, save
from commerce.catalog.models import Product, Variant
from engage.platform import changes
from engage.platform.clock import as_utc, utcnow
from engage.platform.db import rows_matched
from engage.platform.errors import Conflict, NotFound


class StaffVariant(msgspec.Struct):
    id: int
    sku: str
    options: dict[str, str]
    price_cents: int
    compare_at_cents: int | None
    weight_grams: int
    on_hand: int
    reserved: int
    available: int
    low_stock_threshold: int


class StaffProduct(msgspec.Struct):
    handle: str
    name: str
    brand: str
    description: str
    category: str | None
    subcategory: str | None
    status: str
    tags: list[str]
    attributes: dict[str, Any]
    images: list[str]
    variants: list[StaffVariant]
    created_at: datetime
    updated_at: datetime


class StaffProductRow(msgspec.Struct):
    handle: str
    name: str
    brand: str
    status: str
    price_cents: int
    variants: int
    available: int
    updated_at: datetime


class StaffProductPage(msgspec.Struct):
    items: list[StaffProductRow]
    total: int


class Movement(msgspec.Struct):
    id: int
    kind: str
    on_hand_delta: int
    reserved_delta: int
    reference: str
    note: str
    created_at: datetime


async def staff_product(session: AsyncSession, handle: str) -> StaffProduct:
    product = await session.scalar(
        select(Product)
        .where(Product.handle == handle)
        .options(selectinload(Product.variants))
        .execution_options(populate_existing=True)
    )
    if product is None:
        raise NotFound(f"no product {handle}")
    path = path_of(await tree(session), product.category_id)
    levels = await inventory.levels(session, [v.id for v in product.variants])
    variants = []
    for v in product.variants:
        level = levels.get(v.id) or inventory.Level(v.id, 0, 0, 0)
        variants.append(
            StaffVariant(
                id=v.id,
                sku=v.sku,
                options=dict(v.options or {}),
                price_cents=v.price_cents,
                compare_at_cents=v.compare_at_cents,
                weight_grams=v.weight_grams,
                on_hand=level.on_hand,
                reserved=level.reserved,
                available=level.available,
                low_stock_threshold=level.threshold,
            )
        )
    return StaffProduct(
        handle=product.handle,
        name=product.name,
        brand=product.brand,
        description=product.description,
        category=path[0].name if path else None,
        subcategory=path[1].name if len(path) > 1 else None,
        status=product.status,
        tags=list(product.tags),
        attributes=dict(product.attributes),
        images=list(product.images),
        variants=variants,
        created_at=product.created_at,
        updated_at=product.updated_at,
    )


async def staff_products(
    session: AsyncSession,
    *,
    q: str = "",
    status: Literal["published", "draft"] | None = None,
    offset: int = 0,
    limit: int = 50,
) -> StaffProductPage:
    available = (
        select(func.coalesce(func.sum(inventory.StockLevel.on_hand - inventory.StockLevel.reserved), 0))
        .join(Variant, Variant.id == inventory.StockLevel.variant_id)
        .where(Variant.product_id == Product.id)
        .correlate(Product)
        .scalar_subquery()
    )
    variants = select(func.count(Variant.id)).where(Variant.product_id == Product.id).correlate(Product)
    query = select(Product, variants.scalar_subquery().label("variants"), available.label("available"))
    count = select(func.count(Product.id))
    filters = []
    if q.strip():
        like = f"%{q.strip().lower()}%"
        filters.append(or_(func.lower(Product.name).like(like), Product.handle.like(like)))
    if status:
        filters.append(Product.status == status)
    rows = await session.execute(
        query.where(*filters).order_by(Product.handle).offset(max(offset, 0)).limit(min(max(limit, 1), 200))
    )
    items = [
        StaffProductRow(
            handle=r.Product.handle,
            name=r.Product.name,
            brand=r.Product.brand,
            status=r.Product.status,
            price_cents=r.Product.min_price_cents,
            variants=int(r.variants),
            available=int(r.available),
            updated_at=r.Product.updated_at,
        )
        for r in rows
    ]
    return StaffProductPage(items=items, total=int(await session.scalar(count.where(*filters)) or 0))


async def put_product(
    session: AsyncSession,
    handle: str,
    draft: ProductDraft,
    *,
    default_threshold: int,
    cache: CatalogCache,
    actor: str,
    create_only: bool = False,
) -> tuple[StaffProduct, bool]:
    result = await save(
        session, handle, draft, default_threshold=default_threshold, reference=actor, create_only=create_only
    )
    await session.commit()
    await cache.invalidate()
    return await staff_product(session, handle), result.created


async def change_product(
    session: AsyncSession,
    handle: str,
    change: ProductChange,
    *,
    default_threshold: int,
    cache: CatalogCache,
    actor: str,
) -> StaffProduct:
    """An in-place edit: the product as it is, with the given fields changed, saved as a whole (the same
    checks, events and cache as a full save); 409 `stale` when it was saved since the editor loaded it."""
    # the version the editor saw, claimed by one UPDATE (a concurrent edit waits for it, then finds none)
    claimed = await session.execute(
        update(Product)
        .where(Product.handle == handle, Product.updated_at == as_utc(change.updated_at))
        .values(updated_at=utcnow())
    )
    current = await staff_product(session, handle)  # NotFound when there is no such product
    if not rows_matched(claimed):
        await session.rollback()
        raise Conflict(
            f"{current.name} was changed since you opened it; reload to see the change",
            code="stale",
            updated_at=as_utc(current.updated_at).isoformat(),
        )
    asked = {c.id: c for c in change.variants}
    if unknown := sorted(set(asked) - {v.id for v in current.variants}):
        raise NotFound(f"variant {unknown[0]} is not a variant of {handle}", field="variants")
    variants = []
    for v in current.variants:
        c = asked.get(v.id)
        price = v.price_cents if c is None or c.price_cents is msgspec.UNSET else c.price_cents
        compare_at = (
            v.compare_at_cents if c is None or c.compare_at_cents is msgspec.UNSET else c.compare_at_cents
        )
        variants.append(
            VariantDraft(
                sku=v.sku,
                price_cents=price,
                options=v.options,
                compare_at_cents=compare_at,
                weight_grams=v.weight_grams,
            )
        )
    draft = ProductDraft(
        name=current.name if change.name is msgspec.UNSET else change.name,
        variants=variants,
        brand=current.brand,
        description=current.description,
        category=current.category,
        subcategory=current.subcategory,
        status=current.status if change.status is msgspec.UNSET else change.status,  # type: ignore[arg-type]
        tags=current.tags,
        attributes=current.attributes,
        images=current.images if change.images is msgspec.UNSET else change.images,
    )
    product, _ = await put_product(
        session, handle, draft, default_threshold=default_threshold, cache=cache, actor=actor
    )
    return product


async def remove_product(session: AsyncSession, handle: str, *, cache: CatalogCache) -> None:
    """Delete a product; one that other rows still point at (a flash sale, ...) is a 409 naming them."""
    try:
        await delete(session, handle)
        await session.commit()
    except IntegrityError:  # a reference that arrived after the check: the database refused
        await session.rollback()
        raise Conflict(
            f"product {handle} is still used elsewhere; unpublish it instead", code="still_referenced"
        ) from None
    await cache.invalidate()


async def count_stock(
    session: AsyncSession,
    variant_id: int,
    *,
    actor: str,
    restock: int | None = None,
    on_hand: int | None = None,
    delta: int | None = None,
    threshold: int | None = None,
    note: str = "",
) -> inventory.Level:
    """Receive units (`restock`), correct the count (`on_hand` or `delta`), and/or set the low-stock threshold."""
    if (was := await inventory.get_level(session, variant_id)) is not None:
        changes.before(
            "stock",
            variant_id,
            {"on_hand": was.on_hand, "reserved": was.reserved, "threshold": was.threshold},
        )
    if restock:
        await inventory.restock(session, variant_id, restock, reference=actor, note=note)
    if on_hand is not None or delta is not None:
        await inventory.adjust(session, variant_id, on_hand=on_hand, delta=delta, reference=actor, note=note)
    if threshold is not None:
        await inventory.set_threshold(session, variant_id, threshold)
    await session.commit()
    level = await inventory.get_level(session, variant_id)
    if level is None:
        raise NotFound(f"variant {variant_id} has no stock record")
    return level


async def ledger(session: AsyncSession, variant_id: int, *, limit: int = 100) -> list[Movement]:
    rows = await session.scalars(
        select(inventory.StockMovement)
        .where(inventory.StockMovement.variant_id == variant_id)
        .order_by(inventory.StockMovement.id.desc())
        .limit(min(max(limit, 1), 500))
    )
    return [
        Movement(m.id, m.kind, m.on_hand_delta, m.reserved_delta, m.reference, m.note, m.created_at)
        for m in rows
    ]
