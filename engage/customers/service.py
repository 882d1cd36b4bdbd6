"""The customers list (search, keyset pages) and one customer's page, for staff."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce import orders
from commerce.orders import OrderSummary
from engage import chat, loyalty, push
from engage.auth import RequestView, User, privacy_requests_of
from engage.platform.errors import NotFound
from engage.platform.identity import Role


class CustomerRow(msgspec.Struct):
    id: int
    email: str
    name: str
    joined_at: datetime
    active: bool
    orders: int
    spent_cents: int
    last_order_at: datetime | None


class CustomerPage(msgspec.Struct):
    items: list[CustomerRow]
    next_before: int | None  # the next (older) page: `?before=` this


class Customer(msgspec.Struct):
    id: int
    email: str
    name: str
    joined_at: datetime
    last_login_at: datetime | None
    active: bool
    orders: int
    spent_cents: int
    recent_orders: list[OrderSummary]
    conversations: list[chat.CustomerConversation]
    loyalty: loyalty.Standing
    preferences: dict[str, Any]  # push and email topics, quiet hours, marketing consent
    privacy_requests: list[RequestView]


def _row(user: User, spend: orders.Spend | None) -> CustomerRow:
    return CustomerRow(
        id=user.id,
        email=user.email,
        name=user.name,
        joined_at=user.created_at,
        active=user.is_active,
        orders=spend.orders if spend else 0,
        spent_cents=spend.spent_cents if spend else 0,
        last_order_at=spend.last_order_at if spend else None,
    )


async def customers(
    session: AsyncSession, *, q: str = "", before: int | None = None, limit: int = 50
) -> CustomerPage:
    """Shoppers' accounts, newest first; `q` is part of an email or a name."""
    query = select(User).where(User.role == Role.customer.value)
    if q.strip():
        term = q.strip()
        query = query.where(
            or_(User.email.icontains(term, autoescape=True), User.name.icontains(term, autoescape=True))
        )
    if before:
        query = query.where(User.id < before)
    size = min(max(limit, 1), 100)
    users = list(await session.scalars(query.order_by(User.id.desc()).limit(size + 1)))
    more = len(users) > size
    users = users[:size]
    spend = await orders.spend_by_user(session, [u.id for u in users])
    return CustomerPage([_row(u, spend.get(u.id)) for u in users], users[-1].id if more else None)


async def customer(session: AsyncSession, user_id: int) -> Customer:
    user = await session.get(User, user_id)
    if user is None or user.role != Role.customer.value:
        raise NotFound(f"no customer {user_id}")
    row = _row(user, (await orders.spend_by_user(session, [user.id])).get(user.id))
    return Customer(
        id=row.id,
        email=row.email,
        name=row.name,
        joined_at=row.joined_at,
        last_login_at=user.last_login_at,
        active=row.active,
        orders=row.orders,
        spent_cents=row.spent_cents,
        recent_orders=(await orders.customer_orders(session, user.id, limit=20)).items,
        conversations=await chat.of_customer(session, user.id, email=user.email),
        loyalty=await loyalty.standing(session, user.id),
        preferences=await push.preferences_of(session, f"user:{user.id}"),
        privacy_requests=await privacy_requests_of(session, user.id),
    )
