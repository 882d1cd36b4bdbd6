"""Low-stock alerts for staff: when a variant's sellable stock falls to its threshold, marketers and admins
get one alert (live in their pages, and by email), not one per unit sold; and a daily digest of everything
low or sold out, with the signups waiting and a suggested reorder from the last 30 days' sales."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog import StockRow, low_and_out, stock_of
from engage.alerts.events import STAFF_LOW_STOCK, LowStockAlert
from engage.alerts.models import AlertState, StockAlert
from engage.auth import User
from engage.platform.events import record
from engage.platform.identity import Role

STAFF_ROLES = (Role.admin.value, Role.marketer.value)


async def waiting_by_variant(session: AsyncSession, variant_ids: Sequence[int]) -> dict[int, int]:
    if not variant_ids:
        return {}
    rows = await session.execute(
        select(StockAlert.variant_id, func.count())
        .where(StockAlert.variant_id.in_(list(variant_ids)), StockAlert.state == AlertState.waiting.value)
        .group_by(StockAlert.variant_id)
    )
    return {int(v): int(n) for v, n in rows}


def _alert(row: StockRow, waiting: int) -> LowStockAlert:
    return LowStockAlert(
        variant_id=row.variant_id,
        sku=row.sku,
        handle=row.product_handle,
        product_name=row.product_name,
        options=row.options,
        available=row.available,
        threshold=row.low_stock_threshold,
        waiting_signups=waiting,
        suggested_reorder=row.suggested_reorder,
    )


async def raise_alert(session: AsyncSession, variant_id: int) -> LowStockAlert | None:
    """The alert for a variant that is still low, published live to staff when `session` commits (None when
    it is back above its threshold by now). Commits."""
    rows = await stock_of(session, [variant_id])
    if not rows or rows[0].available > rows[0].low_stock_threshold:
        await session.rollback()
        return None
    alert = _alert(rows[0], (await waiting_by_variant(session, [variant_id])).get(variant_id, 0))
    record(session, alert, [STAFF_LOW_STOCK])
    await session.commit()
    return alert


async def staff_emails(session: AsyncSession) -> list[str]:
    """Who hears about stock: active admins and marketers."""
    rows = await session.scalars(
        select(User.email).where(User.role.in_(STAFF_ROLES), User.is_active.is_(True)).order_by(User.id)
    )
    return list(rows)


def _line(a: LowStockAlert) -> str:
    options = " / ".join(a.options.values())
    name = f"{a.product_name} ({options})" if options else a.product_name
    state = "sold out" if a.available <= 0 else f"{a.available} left (threshold {a.threshold})"
    waiting = f", {a.waiting_signups} waiting to be told" if a.waiting_signups else ""
    reorder = f"; reorder about {a.suggested_reorder}" if a.suggested_reorder else ""
    return f"- {name}, SKU {a.sku}: {state}{waiting}{reorder}"


def alert_mail(alert: LowStockAlert, public_url: str) -> tuple[str, str]:
    subject = f"Low stock: {alert.product_name} ({alert.sku})"
    text = f"{_line(alert)}\n\nThe stock room: {public_url}/admin/stock?showing=low\n"
    return subject, text


async def digest(session: AsyncSession, public_url: str) -> tuple[str, str] | None:
    """The daily digest's subject and text, or None when nothing is low."""
    rows = await low_and_out(session)
    if not rows:
        return None
    waiting = await waiting_by_variant(session, [r.variant_id for r in rows])
    alerts = [_alert(r, waiting.get(r.variant_id, 0)) for r in rows]
    out = sum(a.available <= 0 for a in alerts)
    subject = f"Stock digest: {out} sold out, {len(alerts) - out} low"
    body = "\n".join(_line(a) for a in alerts)
    return subject, f"{body}\n\nThe stock room: {public_url}/admin/stock?showing=low\n"
