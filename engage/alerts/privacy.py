"""A shopper's stock alerts in a privacy request: exported; deleted on erasure."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.alerts.models import StockAlert
from engage.auth import PersonalData


async def _export(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    rows = await session.scalars(select(StockAlert).where(StockAlert.owner_key == f"user:{user_id}"))
    return [
        {
            "variant_id": a.variant_id,
            "email": a.email,
            "state": a.state,
            "created_at": a.created_at.isoformat(),
        }
        for a in rows
    ]


async def _erase(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(StockAlert).where(StockAlert.owner_key == f"user:{user_id}"))


personal_data = PersonalData("stock_alerts", _export, _erase)
