"""A signed-in shopper's customer at the payment provider, made once and reused (saved cards live there)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.payments.models import PaymentCustomer
from commerce.payments.providers.base import PaymentProvider, SavedMethod


async def customer_of(session: AsyncSession, provider: PaymentProvider, user_id: int) -> str | None:
    return await session.scalar(
        select(PaymentCustomer.customer_id).where(
            PaymentCustomer.user_id == user_id, PaymentCustomer.provider == provider.name
        )
    )


async def ensure_customer(
    session: AsyncSession, provider: PaymentProvider, *, user_id: int, email: str, name: str
) -> str | None:
    """The provider customer of a user (the provider call is idempotent per user, so a race makes one)."""
    existing = await customer_of(session, provider, user_id)
    if existing is not None:
        return existing
    customer_id = await provider.create_customer(email=email, name=name, user_id=user_id)
    if customer_id is None:
        return None
    try:
        session.add(PaymentCustomer(user_id=user_id, provider=provider.name, customer_id=customer_id))
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return await customer_of(session, provider, user_id)
    return customer_id


async def saved_methods(session: AsyncSession, provider: PaymentProvider, user_id: int) -> list[SavedMethod]:
    customer = await customer_of(session, provider, user_id)
    return await provider.saved_methods(customer) if customer else []
