"""A shopper's cart in a privacy request: exported; deleted on erasure."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from commerce.cart.models import Cart
from engage.auth import PersonalData


async def _export(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    cart = await session.scalar(
        select(Cart).where(Cart.owner_key == f"user:{user_id}").options(selectinload(Cart.lines))
    )
    return [{"variant_id": line.variant_id, "quantity": line.quantity} for line in cart.lines] if cart else []


async def _erase(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(Cart).where(Cart.owner_key == f"user:{user_id}"))


personal_data = PersonalData("cart", _export, _erase)
