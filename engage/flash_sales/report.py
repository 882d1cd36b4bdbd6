"""A sale's figures for marketing, and the reconciliation of what it sold with the orders that paid for it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.orders.models import Order, OrderLine
from engage.flash_sales.claims import item_stats
from engage.flash_sales.models import ClaimStatus, FlashClaim, FlashSaleItem
from engage.flash_sales.timeline import label_prefix, sale_view
from engage.platform.clock import utcnow
from engage.platform.errors import NotFound

# orders that count as sold (a refund later does not unsell the unit: it is a return)
_PAID_STATUSES = ("paid", "fulfilled", "shipped", "delivered", "refunded", "partially_refunded")

# claims per second is measured over this much of the recent past (server clock)
RATE_WINDOW = timedelta(seconds=10)


async def claim_rate(session: AsyncSession, sale_id: int, now: datetime | None = None) -> dict[str, Any]:
    """Claims made in the last `RATE_WINDOW` (released ones included: every attempt that got a unit)."""
    now = now or utcnow()
    recent = await session.scalar(
        select(func.count())
        .select_from(FlashClaim)
        .where(FlashClaim.sale_id == sale_id, FlashClaim.created_at > now - RATE_WINDOW)
    )
    window = RATE_WINDOW.total_seconds()
    return {
        "claims_recent": int(recent or 0),
        "rate_window_seconds": window,
        "claims_per_second": round(int(recent or 0) / window, 2),
    }


async def report(session: AsyncSession, sale_id: int, now: datetime | None = None) -> dict[str, Any]:
    """The sale (as the storefront sees it), its figures, the claim rate and the reconciliation."""
    view = await sale_view(session, sale_id)
    if view is None:
        raise NotFound(f"no flash sale #{sale_id}")
    items = (await session.scalars(select(FlashSaleItem).where(FlashSaleItem.sale_id == sale_id))).all()
    stats = [item_stats(item) for item in items]
    claims = {
        row.status: row.n
        for row in await session.execute(
            select(FlashClaim.status, func.count().label("n"))
            .where(FlashClaim.sale_id == sale_id)
            .group_by(FlashClaim.status)
        )
    }
    claims_total = sum(s["claims_total"] for s in stats)
    units_paid = sum(s["units_paid"] for s in stats)
    ordered = await session.scalar(
        select(func.coalesce(func.sum(OrderLine.quantity), 0))
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.discount_label.startswith(label_prefix(sale_id)), Order.status.in_(_PAID_STATUSES))
    )
    return {
        **view,
        "stats": {
            "items": stats,
            "claims_total": claims_total,
            "units_claimed": sum(s["units_claimed"] for s in stats),
            "units_paid": units_paid,
            "units_left": sum(s["units_left"] for s in stats),
            "revenue_cents": sum(s["revenue_cents"] for s in stats),
            "conversion": round(units_paid / claims_total, 4) if claims_total else 0.0,
            "claims": {status.value: claims.get(status.value, 0) for status in ClaimStatus},
            **await claim_rate(session, sale_id, now),
        },
        "reconciliation": {
            "units_sold": units_paid,
            "units_in_paid_orders": int(ordered or 0),
            "matches": units_paid == int(ordered or 0) == claims.get(ClaimStatus.paid.value, 0),
        },
    }
