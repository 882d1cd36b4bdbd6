"""A shopper's orders in a privacy request: all of them exported; on erasure, kept for the accounts with
nothing that names the person (email, address), only the country the tax was for."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from commerce.orders.models import Order
from engage.auth import PersonalData


async def _export(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    orders = await session.scalars(
        select(Order).where(Order.user_id == user_id).options(selectinload(Order.lines)).order_by(Order.id)
    )
    return [
        {
            "number": o.number,
            "status": o.status,
            "placed_at": o.created_at.isoformat(),
            "email": o.email,
            "shipping_address": o.shipping_address,
            "currency": o.currency,
            "total_cents": o.total_cents,
            "refunded_cents": o.refunded_cents,
            "lines": [
                {
                    "name": line.name,
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "total_cents": line.line_total_cents,
                }
                for line in o.lines
            ],
        }
        for o in orders
    ]


async def _erase(session: AsyncSession, user_id: int) -> None:
    orders = (await session.scalars(select(Order).where(Order.user_id == user_id))).all()
    for order in orders:
        country = (order.shipping_address or {}).get("country", "")
        order.email = ""
        order.shipping_address = {"country": country} if country else {}


personal_data = PersonalData("orders", _export, _erase)
