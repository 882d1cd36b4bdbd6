""" "Remind me when it starts": a shopper or guest asks to be told when a published flash sale begins.

Flash sales announce `sale.started` once (whichever process sees the start first); a sink then sends the
reminders: one notification per owner, keyed by the sale, so a repeated start or a retried job sends nothing
twice. Owners whose flash_sales topic is off get nothing (their request stays, harmless).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.models import Product, Variant
from engage.flash_sales.models import FlashSale, FlashSaleItem, SaleStatus
from engage.platform.clock import utcnow
from engage.platform.db import insert_for
from engage.platform.errors import Conflict, NotFound
from engage.push import notifications
from engage.push.env import PushEnv
from engage.push.models import FlashSaleReminder
from engage.push.subscriptions import Owner

PAGE = 500


def _insert(session: AsyncSession) -> Any:
    return insert_for(session)


async def _published(session: AsyncSession, sale_id: int) -> FlashSale:
    sale = await session.get(FlashSale, sale_id)
    if sale is None or sale.status != SaleStatus.scheduled.value:
        raise NotFound(f"no flash sale #{sale_id}", code="sale_not_found")
    return sale


async def remind(
    session: AsyncSession, sale_id: int, owner: Owner, *, now: datetime | None = None
) -> dict[str, Any]:
    """Ask for a reminder (idempotent); 409 when the sale is already on or over. Commits."""
    now = now or utcnow()
    sale = await _published(session, sale_id)
    if sale.ends_at <= now:
        raise Conflict("this flash sale has ended", code="sale_ended")
    if sale.starts_at <= now:
        raise Conflict("this flash sale is on now: no need for a reminder", code="sale_live")
    await session.execute(
        _insert(session)(FlashSaleReminder)
        .values(sale_id=sale_id, owner_key=owner.key, user_id=owner.user_id, created_at=now)
        .on_conflict_do_nothing(index_elements=["sale_id", "owner_key"])
    )
    await session.commit()
    return {"sale_id": sale_id, "starts_at": sale.starts_at, "reminder": True}


async def forget(session: AsyncSession, sale_id: int, owner: Owner) -> None:
    await session.execute(
        delete(FlashSaleReminder).where(
            FlashSaleReminder.sale_id == sale_id, FlashSaleReminder.owner_key == owner.key
        )
    )
    await session.commit()


async def asked(session: AsyncSession, sale_id: int, owner: Owner) -> bool:
    found = await session.scalar(
        select(FlashSaleReminder.sale_id).where(
            FlashSaleReminder.sale_id == sale_id, FlashSaleReminder.owner_key == owner.key
        )
    )
    return found is not None


async def send_reminders(
    session: AsyncSession, env: PushEnv, sale_id: int, *, now: datetime | None = None
) -> int:
    """Queue the start reminder for everyone who asked (pages of owners); returns how many messages."""
    now = now or utcnow()
    sale = await session.get(FlashSale, sale_id)
    if sale is None or sale.status != SaleStatus.scheduled.value or sale.ends_at <= now:
        return 0
    items = (
        await session.execute(
            select(
                func.count(FlashSaleItem.id), func.min(Product.handle), func.count(func.distinct(Product.id))
            )
            .join(Variant, Variant.id == FlashSaleItem.variant_id)
            .join(Product, Product.id == Variant.product_id)
            .where(FlashSaleItem.sale_id == sale_id)
        )
    ).one()
    count, handle, products = items
    url = f"/products/{handle}" if products == 1 and handle else "/"
    notice = notifications.sale_notice(
        sale_id=sale_id, name=sale.name, items=int(count or 0), url=url, ends_at=sale.ends_at, now=now
    )
    await session.commit()
    queued, after = 0, ""
    while True:
        owners = list(
            await session.scalars(
                select(FlashSaleReminder.owner_key)
                .where(FlashSaleReminder.sale_id == sale_id, FlashSaleReminder.owner_key > after)
                .order_by(FlashSaleReminder.owner_key)
                .limit(PAGE)
            )
        )
        if not owners:
            return queued
        queued += len(await notifications.notify(session, env, owners, notice, now=now))
        after = owners[-1]
