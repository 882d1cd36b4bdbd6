"""A signed-in shopper's customer at the payment provider, made once and reused (saved cards live there)."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.payments.models import CustomerDeletion, PaymentCustomer
from commerce.payments.providers.base import PaymentProvider, SavedMethod
from engage.platform.clock import utcnow

log = logging.getLogger("engage.payments")


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


async def delete_erased(session: AsyncSession, provider: PaymentProvider, *, limit: int = 50) -> int:
    """Delete at the provider the customers of erased accounts that are still there (a failure is retried
    at the next run); how many were deleted. Two workers at once may both ask: deleting is idempotent at
    the provider (one already gone counts as done)."""
    query = (
        select(CustomerDeletion)
        .where(CustomerDeletion.provider == provider.name, CustomerDeletion.done_at.is_(None))
        .order_by(CustomerDeletion.id)
        .limit(limit)
    )
    deleted = 0
    for row in (await session.scalars(query)).all():
        try:
            await provider.delete_customer(row.customer_id)
        except Exception as exc:  # the provider refused or did not answer: kept for the next run
            log.warning("payment customer %s not deleted yet: %s", row.customer_id, exc)
            row.attempts, row.last_error = row.attempts + 1, str(exc)[:300]
            continue
        row.done_at = utcnow()
        deleted += 1
    await session.commit()
    return deleted
