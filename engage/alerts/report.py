"""Demand and results of back-in-stock alerts for marketers: per variant, signups (what shoppers want that
is missing), waiting, notified, clicked (pushes or emails opened) and bought within a window after the alert."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import datetime, timedelta

import msgspec
from sqlalchemy import String, cast, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog import Product, Variant
from commerce.orders import Order, OrderLine
from engage.alerts.models import AlertState, StockAlert
from engage.platform.clock import as_utc, utcnow
from engage.push.models import PushMessageRecord

BOUGHT_WITHIN = timedelta(days=7)


class VariantDemand(msgspec.Struct):
    variant_id: int
    sku: str
    product_name: str
    handle: str
    options: dict[str, str]
    signups: int
    waiting: int
    notified: int
    clicked: int  # pushes or emails opened
    bought: int  # notified shoppers who paid for the variant within 7 days
    conversion: float | None  # bought / notified


class DemandReport(msgspec.Struct):
    days: int
    variants: list[VariantDemand]
    totals: VariantDemand


def _conversion(bought: int, notified: int) -> float | None:
    return round(bought / notified, 4) if notified else None


async def demand(session: AsyncSession, *, days: int = 90, now: datetime | None = None) -> DemandReport:
    since = (now or utcnow()) - timedelta(days=days)
    alerts = (
        await session.execute(
            select(
                StockAlert.id,
                StockAlert.variant_id,
                StockAlert.state,
                StockAlert.notified_at,
                StockAlert.user_id,
                StockAlert.email,
                StockAlert.clicked_at,
            ).where(StockAlert.created_at >= since)
        )
    ).all()
    ids = [a.id for a in alerts]
    clicked = set()
    if ids:
        key = literal("stock-alert:") + cast(StockAlert.id, String)
        clicked = set(
            await session.scalars(
                select(StockAlert.id)
                .join(PushMessageRecord, PushMessageRecord.dedupe_key == key)
                .where(StockAlert.created_at >= since, PushMessageRecord.clicked_at.is_not(None))
                .distinct()
            )
        )
    purchases: dict[int, list[tuple[datetime, int | None, str]]] = defaultdict(list)
    variant_ids = sorted({a.variant_id for a in alerts})
    if variant_ids:
        rows = await session.execute(
            select(OrderLine.variant_id, Order.paid_at, Order.user_id, Order.email)
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.variant_id.in_(variant_ids), Order.paid_at >= since)
        )
        for variant_id, paid_at, user_id, email in rows:
            if variant_id is not None and paid_at is not None:
                purchases[variant_id].append((as_utc(paid_at), user_id, email.lower()))
    figures: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for a in alerts:
        f = figures[a.variant_id]
        f[0] += 1
        f[1] += a.state == AlertState.waiting.value
        if a.notified_at is None:
            continue
        f[2] += 1
        f[3] += a.id in clicked or a.clicked_at is not None
        told = as_utc(a.notified_at)
        f[4] += any(
            told <= paid < told + BOUGHT_WITHIN
            and ((a.user_id is not None and user == a.user_id) or (a.email and email == a.email.lower()))
            for paid, user, email in purchases[a.variant_id]
        )
    names = (
        {
            v.id: (v, p)
            for v, p in (
                await session.execute(
                    select(Variant, Product)
                    .join(Product, Product.id == Variant.product_id)
                    .where(Variant.id.in_(variant_ids))
                )
            ).all()
        }
        if variant_ids
        else {}
    )
    rows_out = []
    for variant_id, (signups, waiting, notified, clicks, bought) in figures.items():
        variant, product = names[variant_id]
        rows_out.append(
            VariantDemand(
                variant_id,
                variant.sku,
                product.name,
                product.handle,
                dict(variant.options or {}),
                signups,
                waiting,
                notified,
                clicks,
                bought,
                _conversion(bought, notified),
            )
        )
    rows_out.sort(key=lambda r: (-r.signups, r.variant_id))
    total = {
        f: sum(getattr(r, f) for r in rows_out)
        for f in ("signups", "waiting", "notified", "clicked", "bought")
    }
    totals = VariantDemand(
        variant_id=0,
        sku="",
        product_name="All variants",
        handle="",
        options={},
        conversion=_conversion(total["bought"], total["notified"]),
        **total,
    )
    return DemandReport(days, rows_out, totals)


def demand_csv(report: DemandReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["sku", "product", "options", "signups", "waiting", "notified", "clicked", "bought", "conversion"]
    )
    for r in report.variants:
        options = " / ".join(r.options.values())
        conversion = "" if r.conversion is None else f"{r.conversion:.4f}"
        writer.writerow(
            [
                r.sku,
                r.product_name,
                options,
                r.signups,
                r.waiting,
                r.notified,
                r.clicked,
                r.bought,
                conversion,
            ]
        )
    return out.getvalue()
