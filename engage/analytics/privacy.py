"""A shopper's funnel marks in a privacy request: exported (the days they viewed or added to the cart);
deleted on erasure (the kept days are counts, and stay)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.analytics.models import FunnelMark
from engage.auth import PersonalData


async def _export(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    marks = await session.scalars(
        select(FunnelMark).where(FunnelMark.visitor == f"user:{user_id}").order_by(FunnelMark.at)
    )
    return [{"step": m.step, "at": m.at.isoformat()} for m in marks]


async def _erase(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(FunnelMark).where(FunnelMark.visitor == f"user:{user_id}"))


personal_data = PersonalData("shop_visits", _export, _erase)
