"""Staff notes on an order's timeline: for staff only, never in a shopper's answer."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from commerce.orders.states import note
from commerce.orders.views import STAFF_NOTE, OrderView, load, staff_order
from engage.platform.errors import InvalidInput


async def add_note(session: AsyncSession, number: str, text: str, *, actor: str) -> OrderView:
    text = text.strip()
    if not text:
        raise InvalidInput("write the note", field="text")
    order = await load(session, number)
    note(session, order, STAFF_NOTE, actor=actor, text=text)
    await session.commit()
    return await staff_order(session, number)
