"""What the agent console's side panel shows of a shopper's commerce: their cart and recent orders.

Each section is `async (session, owner_key, user_id) -> JSON-ready data`; the assembly (engage/wiring.py)
adds them to the console's sections. Commerce knows nothing of chat.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.cart import current_cart
from commerce.orders import recent_orders
from commerce.pricing import Promotion

Section = Callable[[AsyncSession, str, int | None], Awaitable[Any]]


def shopper_sections(currency: str, promotions: Sequence[Promotion]) -> dict[str, Section]:
    async def cart(session: AsyncSession, owner_key: str, user_id: int | None) -> Any:
        view = await current_cart(
            session, owner_key, user_id=user_id, currency=currency, promotions=promotions
        )
        return msgspec.to_builtins(view)

    async def orders(session: AsyncSession, owner_key: str, user_id: int | None) -> Any:
        if user_id is None:
            return []  # a guest's orders join their account when they sign in
        return [
            {
                "number": order.number,
                "status": order.status,
                "total_cents": order.total_cents,
                "currency": order.currency,
                "created_at": order.created_at.isoformat(),
                "carrier": order.carrier,
                "tracking_number": order.tracking_number,
                "expected_delivery": order.expected_delivery.isoformat() if order.expected_delivery else None,
            }
            for order in await recent_orders(session, user_id, limit=5)
        ]

    return {"cart": cart, "orders": orders}
