"""A shopper's devices and notification preferences in a privacy request: exported; deleted on erasure (the
record of what was sent stays, with no device left to name)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.auth import PersonalData
from engage.push.models import NotificationPreferences, PushSubscription


async def _export(session: AsyncSession, user_id: int) -> dict[str, Any]:
    devices = await session.scalars(select(PushSubscription).where(PushSubscription.user_id == user_id))
    preferences = await session.scalar(
        select(NotificationPreferences).where(NotificationPreferences.user_id == user_id)
    )
    return {
        "devices": [
            {
                "id": d.id,
                "push_service": d.endpoint.split("/")[2] if "//" in d.endpoint else "",
                "added_at": d.created_at.isoformat(),
            }
            for d in devices
        ],
        "preferences": {
            column.key: getattr(preferences, column.key)
            for column in NotificationPreferences.__table__.columns
            if column.key not in ("owner_key", "user_id", "created_at", "updated_at")
        }
        if preferences is not None
        else None,
    }


async def _erase(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(PushSubscription).where(PushSubscription.user_id == user_id))
    await session.execute(delete(NotificationPreferences).where(NotificationPreferences.user_id == user_id))


personal_data = PersonalData("notifications", _export, _erase)
