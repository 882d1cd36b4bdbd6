"""A shopper in a privacy request: their funnel marks are exported (the days they viewed or added to the
cart) and deleted on erasure; their email leaves the kept buyers (their anonymised orders count as the
other anonymised ones do). Kept days are counts, and stay."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.analytics import rollup
from engage.analytics.models import FunnelMark
from engage.auth import PersonalData
from engage.auth.models import User


async def _export(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    marks = await session.scalars(
        select(FunnelMark).where(FunnelMark.visitor == f"user:{user_id}").order_by(FunnelMark.at)
    )
    return [{"step": m.step, "at": m.at.isoformat()} for m in marks]


async def _erase(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(FunnelMark).where(FunnelMark.visitor == f"user:{user_id}"))
    email = await session.scalar(select(User.email).where(User.id == user_id))
    if email:  # orders are anonymised by now (their email is empty): both are counted again
        await rollup.forget_buyer(session, [email.lower(), ""])


personal_data = PersonalData("shop_visits", _export, _erase)
