"""Where a sale stands in time, what the storefront is told about it, and the start/end announcements.

A sale's phase is a function of the clock (server time): nothing has to run at the start or the end for the
price to switch (pricing asks the clock too). The announcements only tell open pages promptly; each is made
once, by whichever process sees it first, even after restarts (a flag set by a guarded UPDATE).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.events import product_channel
from commerce.catalog.models import Product, Variant
from engage.flash_sales.events import LISTING_CHANNEL, SaleEnded, SaleNews, SaleStarted, sale_channel
from engage.flash_sales.models import FlashSale, FlashSaleItem, SaleStatus
from engage.platform.clock import epoch_ms, utcnow
from engage.platform.events import record


class Phase(StrEnum):
    draft = "draft"
    upcoming = "upcoming"
    live = "live"
    ended = "ended"
    cancelled = "cancelled"


def label_prefix(sale_id: int) -> str:
    return f"Flash sale #{sale_id}: "


def label_of(sale_id: int, name: str) -> str:
    """The discount label on order lines priced by this sale (it names the sale: reconciliation reads it)."""
    return (label_prefix(sale_id) + name)[:120]


def phase_of(status: str, starts_at: datetime, ends_at: datetime, now: datetime | None = None) -> Phase:
    if status == SaleStatus.draft.value:
        return Phase.draft
    if status == SaleStatus.cancelled.value:
        return Phase.cancelled
    now = now or utcnow()
    if now < starts_at:
        return Phase.upcoming
    return Phase.live if now < ends_at else Phase.ended


async def sale_view(session: AsyncSession, sale_id: int) -> dict[str, Any] | None:
    """What anyone may know of a published sale (a draft is nobody's business but marketing's)."""
    sale = await session.get(FlashSale, sale_id, populate_existing=True)
    if sale is None:
        return None
    return await _describe(session, sale)


async def _describe(session: AsyncSession, sale: FlashSale) -> dict[str, Any]:
    rows = (
        await session.execute(
            select(
                FlashSaleItem, Variant.sku, Variant.price_cents, Variant.options, Product.handle, Product.name
            )
            .join(Variant, Variant.id == FlashSaleItem.variant_id)
            .join(Product, Product.id == Variant.product_id)
            .where(FlashSaleItem.sale_id == sale.id)
            .order_by(FlashSaleItem.id)
        )
    ).all()
    return {
        "id": sale.id,
        "name": sale.name,
        "status": sale.status,
        "phase": phase_of(sale.status, sale.starts_at, sale.ends_at).value,
        "starts_at": sale.starts_at.isoformat(),
        "ends_at": sale.ends_at.isoformat(),
        "starts_at_ms": epoch_ms(sale.starts_at),
        "ends_at_ms": epoch_ms(sale.ends_at),
        "per_customer_limit": sale.per_customer_limit,
        "now": epoch_ms(),
        "items": [
            {
                "item_id": r.FlashSaleItem.id,
                "variant_id": r.FlashSaleItem.variant_id,
                "sku": r.sku,
                "options": r.options or {},
                "handle": r.handle,
                "product_name": r.name,
                "regular_price_cents": r.price_cents,
                "sale_price_cents": r.FlashSaleItem.sale_price_cents,
                "units_allotted": r.FlashSaleItem.units_allotted,
                "units_left": max(r.FlashSaleItem.units_allotted - r.FlashSaleItem.units_claimed, 0),
            }
            for r in rows
        ],
    }


async def sales_for_variants(
    session: AsyncSession, variant_ids: Iterable[int], now: datetime | None = None
) -> list[dict[str, Any]]:
    """Published sales, upcoming or live, that include any of these variants."""
    ids = list(variant_ids)
    if not ids:
        return []
    now = now or utcnow()
    sale_ids = (
        await session.scalars(
            select(FlashSale.id)
            .join(FlashSaleItem, FlashSaleItem.sale_id == FlashSale.id)
            .where(
                FlashSaleItem.variant_id.in_(ids),
                FlashSale.status == SaleStatus.scheduled.value,
                FlashSale.ends_at > now,
            )
            .distinct()
            .order_by(FlashSale.id)
        )
    ).all()
    return [view for sale_id in sale_ids if (view := await sale_view(session, sale_id)) is not None]


async def current_sales(session: AsyncSession, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every published sale that has not ended, soonest first (storefront banners)."""
    now = now or utcnow()
    sales = (
        await session.scalars(
            select(FlashSale)
            .where(FlashSale.status == SaleStatus.scheduled.value, FlashSale.ends_at > now)
            .order_by(FlashSale.starts_at, FlashSale.id)
        )
    ).all()
    return [await _describe(session, sale) for sale in sales]


def announce(session: AsyncSession, news: type[SaleNews], view: dict[str, Any]) -> None:
    """News of a published sale, on its channel, the listing and the channels of its products."""
    handles = sorted({item["handle"] for item in view["items"]})
    channels = [sale_channel(view["id"]), LISTING_CHANNEL, *(product_channel(h) for h in handles)]
    record(session, news(sale_id=view["id"], sale=view), channels)


async def announce_transitions(session: AsyncSession, now: datetime | None = None) -> int:
    """Announce the starts and ends that have happened and were not announced yet; commits. How many."""
    now = now or utcnow()
    announced = 0
    for flag, moment, event in (
        (FlashSale.announced_start, FlashSale.starts_at, SaleStarted),
        (FlashSale.announced_end, FlashSale.ends_at, SaleEnded),
    ):
        due = (
            await session.scalars(
                update(FlashSale)
                .where(FlashSale.status == SaleStatus.scheduled.value, flag.is_(False), moment <= now)
                .values({flag: True})
                .returning(FlashSale.id)
                .execution_options(synchronize_session=False)
            )
        ).all()
        for sale_id in due:
            view = await sale_view(session, sale_id)
            if view is not None:
                announce(session, event, view)
                announced += 1
    await session.commit()
    return announced


async def live_sale_ids(session: AsyncSession, now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    return list(
        (
            await session.scalars(
                select(FlashSale.id).where(
                    FlashSale.status == SaleStatus.scheduled.value,
                    and_(FlashSale.starts_at <= now, FlashSale.ends_at > now),
                )
            )
        ).all()
    )


def overlapping(starts_at: datetime, ends_at: datetime) -> Any:
    """SQL condition: a scheduled sale whose window overlaps [starts_at, ends_at)."""
    return and_(
        FlashSale.status == SaleStatus.scheduled.value,
        or_(and_(FlashSale.starts_at < ends_at, FlashSale.ends_at > starts_at)),
    )
