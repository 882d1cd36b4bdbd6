"""A shopper's customers at the payment provider in a privacy request: named in the export; on erasure the
link goes and the provider customer (with the cards saved under it) is queued for deletion there, which a
job does and retries until the provider confirms (`customers.delete_erased`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.payments.models import CustomerDeletion, PaymentCustomer
from engage.auth import PersonalData
from engage.platform.db import insert_for


async def _export(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    rows = await session.scalars(select(PaymentCustomer).where(PaymentCustomer.user_id == user_id))
    return [{"provider": r.provider, "customer": r.customer_id} for r in rows]


async def _erase(session: AsyncSession, user_id: int) -> None:
    rows = (await session.scalars(select(PaymentCustomer).where(PaymentCustomer.user_id == user_id))).all()
    if rows:
        await session.execute(
            insert_for(session)(CustomerDeletion)
            .values([{"provider": r.provider, "customer_id": r.customer_id} for r in rows])
            .on_conflict_do_nothing()
        )
    await session.execute(delete(PaymentCustomer).where(PaymentCustomer.user_id == user_id))


personal_data = PersonalData("payment_customers", _export, _erase)
