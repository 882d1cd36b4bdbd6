"""Writing the catalog: create, replace and delete products with their variants (admin API and imports).

Each write records `product.changed` on `product:{handle}` (search re-embeds on it) and keeps
`Product.min_price_cents` true. Stock of new variants starts through the inventory ledger.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from commerce import inventory
from commerce.catalog.categories import ensure_path
from commerce.catalog.drafts import ProductDraft, problems_of
from commerce.catalog.events import ProductChanged, VariantPrice, product_channel
from commerce.catalog.models import Product, Variant
from engage.platform import changes
from engage.platform.clock import utcnow
from engage.platform.db import references_holding
from engage.platform.errors import Conflict, InvalidInput, NotFound
from engage.platform.events import record
from engage.platform.text import one_line, visible_text


@dataclass(frozen=True, slots=True)
class SaveResult:
    product: Product
    created: bool


def product_changed(session: AsyncSession, product: Product, *, deleted: bool = False) -> None:
    record(
        session,
        ProductChanged(
            handle=product.handle,
            product_id=product.id,
            name=product.name,
            status="deleted" if deleted else product.status,
            price_cents=product.min_price_cents,
            variants=[VariantPrice(v.id, v.sku, v.price_cents, v.compare_at_cents) for v in product.variants],
        ),
        channels=[product_channel(product.handle)],
    )


async def load(session: AsyncSession, handle: str) -> Product | None:
    return await session.scalar(
        select(Product)
        .where(Product.handle == handle)
        .options(selectinload(Product.variants), selectinload(Product.category))
        .execution_options(populate_existing=True)
    )


async def save(
    session: AsyncSession,
    handle: str,
    draft: ProductDraft,
    *,
    default_threshold: int,
    reference: str,
    create_only: bool = False,
) -> SaveResult:
    """Create or replace the product `handle` as `draft` says. Does not commit.

    Variants are matched by SKU: new ones are added (with their stock), missing ones removed (unless stock
    is held for them), `stock` given on a variant sets its on-hand count through an adjustment.
    """
    if problems := problems_of(draft):
        raise InvalidInput("; ".join(problems))
    product = await load(session, handle)
    if product is not None:
        changes.before("product", handle, _as_was(product))
    if product is not None and create_only:
        raise Conflict(f"a product with handle {handle} already exists", code="handle_taken", field="handle")
    await _check_skus_free(session, draft, product)
    if product is not None:
        await _check_counts(session, draft, product)

    category = await ensure_path(session, [draft.category or "", draft.subcategory or ""])
    created = product is None
    if product is None:
        product = Product(handle=handle, variants=[])
        session.add(product)
    product.name = one_line(draft.name)
    product.brand = one_line(draft.brand)
    product.description = visible_text(draft.description)
    product.category_id = category.id if category else None
    product.status = draft.status
    product.tags = [t.strip() for t in draft.tags if t.strip()]
    product.attributes = dict(draft.attributes)
    product.images = list(draft.images)
    product.min_price_cents = min(v.price_cents for v in draft.variants)
    product.updated_at = utcnow()  # a save is a change, also when only variants changed (in-place edits)

    by_sku = {v.sku: v for v in product.variants}
    wanted = {v.sku for v in draft.variants}
    for sku, dropped in by_sku.items():
        if sku not in wanted:
            await _check_removable(session, dropped)
            product.variants.remove(dropped)
    stock_changes: list[tuple[Variant, int | None, int | None, bool]] = []
    for position, d in enumerate(draft.variants):
        variant = by_sku.get(d.sku)
        is_new = variant is None
        if variant is None:
            variant = Variant(sku=d.sku)
            product.variants.append(variant)
        variant.options = dict(d.options)
        variant.price_cents = d.price_cents
        variant.compare_at_cents = d.compare_at_cents
        variant.weight_grams = d.weight_grams
        variant.position = position
        stock_changes.append((variant, d.stock, d.low_stock_threshold, is_new))
    await session.flush()

    for variant, stock, threshold, is_new in stock_changes:
        if is_new:
            await inventory.track(
                session,
                variant.id,
                on_hand=stock or 0,
                threshold=default_threshold if threshold is None else threshold,
                reference=reference,
            )
            continue
        if stock is not None:
            await inventory.adjust(
                session, variant.id, on_hand=stock, reference=reference, note="set by catalog"
            )
        if threshold is not None:
            await inventory.set_threshold(session, variant.id, threshold)
    product_changed(session, product)
    return SaveResult(product, created)


def _as_was(product: Product) -> dict[str, object]:
    return {
        "name": product.name,
        "status": product.status,
        "images": list(product.images),
        "variants": {
            v.sku: {"price_cents": v.price_cents, "compare_at_cents": v.compare_at_cents}
            for v in product.variants
        },
    }


async def _check_skus_free(session: AsyncSession, draft: ProductDraft, product: Product | None) -> None:
    skus = [v.sku for v in draft.variants]
    taken = (
        await session.execute(
            select(Variant.sku, Product.handle)
            .join(Product, Product.id == Variant.product_id)
            .where(Variant.sku.in_(skus))
        )
    ).all()
    clashes = [
        f"{row.sku} (on {row.handle})" for row in taken if product is None or row.handle != product.handle
    ]
    if clashes:
        raise Conflict(
            f"SKU already used by another product: {', '.join(clashes)}", code="sku_taken", field="sku"
        )


async def _check_counts(session: AsyncSession, draft: ProductDraft, product: Product) -> None:
    """Checked before anything is written: a count below what shoppers hold cannot be set."""
    ids = {v.sku: v.id for v in product.variants}
    given = {ids[d.sku]: d for d in draft.variants if d.sku in ids and d.stock is not None}
    for variant_id, level in (await inventory.levels(session, given)).items():
        stock = given[variant_id].stock
        assert stock is not None
        if stock < level.reserved:
            raise Conflict(
                f"SKU {given[variant_id].sku}: {level.reserved} units are reserved; stock cannot go below that",
                code="stock_reserved",
            )


async def _check_removable(session: AsyncSession, variant: Variant) -> None:
    held = await session.scalar(
        select(func.count())
        .select_from(inventory.Reservation)
        .where(
            inventory.Reservation.variant_id == variant.id,
            inventory.Reservation.status == inventory.ReservationStatus.active.value,
        )
    )
    if held:
        raise Conflict(
            f"SKU {variant.sku} has stock reserved by shoppers; unpublish the product instead",
            code="variant_reserved",
        )
    await _check_not_held(session, "variants", [variant.id], f"SKU {variant.sku}")


async def _check_not_held(session: AsyncSession, table: str, ids: list[int], what: str) -> None:
    """Refuse to delete rows another area still points at (a flash sale's item, ...): a 409 that names
    them, instead of the database's foreign-key error. Unpublishing keeps the product out of the shop."""
    held = await references_holding(session, table, ids)
    if held:
        names = ", ".join(
            f"{table_name.replace('_', ' ')} ({rows})" for table_name, rows in sorted(held.items())
        )
        raise Conflict(
            f"{what} is still used by {names}; unpublish the product instead",
            code="still_referenced",
            held_by=[{"table": table_name, "rows": rows} for table_name, rows in sorted(held.items())],
        )


async def delete(session: AsyncSession, handle: str) -> None:
    """Remove a product for good (orders keep their own copy of what was bought). Does not commit."""
    product = await load(session, handle)
    if product is None:
        raise NotFound(f"no product {handle}")
    await _check_not_held(session, "products", [product.id], f"product {handle}")
    for variant in product.variants:
        await _check_removable(session, variant)
    product_changed(session, product, deleted=True)
    await session.delete(product)
