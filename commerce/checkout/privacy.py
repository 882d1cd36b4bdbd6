"""A shopper's checkouts and address book in a privacy request: the email and addresses typed in (the
order keeps its own)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.checkout import address_book
from commerce.checkout.models import Checkout
from engage.auth import PersonalData


def _owner(user_id: int) -> str:
    return f"user:{user_id}"


async def _export(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    rows = await session.scalars(select(Checkout).where(Checkout.owner_key == _owner(user_id)))
    return [
        {
            "id": c.id,
            "status": c.status,
            "email": c.email,
            "address": c.address,
            "started_at": c.created_at.isoformat(),
        }
        for c in rows
    ]


async def _erase(session: AsyncSession, user_id: int) -> None:
    await session.execute(
        update(Checkout).where(Checkout.owner_key == _owner(user_id)).values(email="", address={})
    )


personal_data = PersonalData("checkouts", _export, _erase)
address_book_data = PersonalData("saved_addresses", address_book.export, address_book.erase)
