"""The demo shop's flash sale: a couple of products, starting a few minutes after seeding, for an hour.

Planned through marketing's own rules (`schedule.create`), so it is an ordinary published sale. Seeding again
plans nothing while a demo sale is still to come or running; once it is over, the next seeding plans a new one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce import inventory
from commerce.catalog.models import Product, Variant
from engage.flash_sales import schedule
from engage.flash_sales.models import FlashSale, FlashSaleItem
from engage.flash_sales.timeline import overlapping
from engage.platform.clock import utcnow
from engage.platform.identity import Identity, Role

DEMO_SALE_NAME = "Demo flash sale"
DEMO_UNITS = 10


def demo_price(regular_cents: int) -> int:
    """About 30% off, ending in .99 from 10.00 up."""
    price = regular_cents * 70 // 100
    return price // 100 * 100 - 1 if price >= 1000 else max(price, 1)


async def _pick(
    session: AsyncSession, starts_at: datetime, ends_at: datetime, products: int
) -> list[Variant]:
    """The first variant of the first published products with stock, not in another sale at that time."""
    busy = select(FlashSaleItem.variant_id).join(FlashSale, FlashSale.id == FlashSaleItem.sale_id)
    busy = busy.where(overlapping(starts_at, ends_at))
    candidates = (
        await session.scalars(
            select(Variant)
            .join(Product, Product.id == Variant.product_id)
            .where(Product.status == "published", Variant.price_cents >= 200, Variant.id.not_in(busy))
            .order_by(Product.id, Variant.position, Variant.id)
            .limit(200)
        )
    ).all()
    stock = await inventory.levels(session, [v.id for v in candidates])
    chosen: list[Variant] = []
    seen: set[int] = set()
    for variant in candidates:
        level = stock.get(variant.id)
        if variant.product_id in seen or level is None or level.on_hand < 2:
            continue
        chosen.append(variant)
        seen.add(variant.product_id)
        if len(chosen) == products:
            break
    return chosen


async def seed_demo_sale(
    session: AsyncSession,
    *,
    author_id: int | None = None,
    starts_in: timedelta = timedelta(minutes=3),
    lasts: timedelta = timedelta(hours=1),
    products: int = 2,
) -> FlashSale | None:
    """Plan and publish the demo sale; None when one is still to come or running (or nothing can be sold)."""
    now = utcnow()
    pending = await session.scalar(
        select(FlashSale.id).where(FlashSale.name == DEMO_SALE_NAME, FlashSale.ends_at > now).limit(1)
    )
    if pending is not None:
        return None
    starts_at = now + starts_in
    ends_at = starts_at + lasts
    variants = await _pick(session, starts_at, ends_at, products)
    if not variants:
        return None
    stock = await inventory.levels(session, [v.id for v in variants])
    plan = schedule.SalePlan(
        name=DEMO_SALE_NAME,
        starts_at=starts_at,
        ends_at=ends_at,
        per_customer_limit=1,
        items=[
            schedule.ItemPlan(
                demo_price(v.price_cents), min(DEMO_UNITS, stock[v.id].on_hand), variant_id=v.id
            )
            for v in variants
        ],
    )
    author = Identity(user_id=author_id, role=Role.marketer, name="demo")
    return await schedule.create(session, author, plan, publish=True)
