"""Row locks on checkouts, orders, payments and refunds, always taken in one order:

    checkout -> order -> payments -> refunds      (several of one kind: by primary key)

Two transactions that lock rows in opposite orders can each wait for the other for ever (PostgreSQL then
kills one: a deadlock). So every lock on these rows is taken here, before the transaction changes any of
them, and in that order; a transaction may skip a kind it does not need (a refund locks only its order and
its refund rows) but never comes back for an earlier kind once it holds a later one. Work that goes on
under these locks (stock holds, the cart) comes after them too. Saleor keeps the same rule in its
`lock_objects` modules.

Locks are `FOR NO KEY UPDATE`, the lock an UPDATE takes: inserting a row that refers to a locked one (a
payment of the order, a timeline entry) does not wait for it. SQLite ignores them: it runs one writer at
a time. Rows are read fresh (`populate_existing`), the order with its lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from commerce.checkout.models import Checkout
from commerce.orders.models import Order
from commerce.payments.models import Payment, Refund


@dataclass(slots=True)
class Locked:
    """The rows a transaction holds; a row that does not exist is None (or absent from a list)."""

    checkout: Checkout | None = None
    order: Order | None = None
    payments: list[Payment] = field(default_factory=list)  # by id
    refunds: list[Refund] = field(default_factory=list)  # by id


def _for_update(query: Select[Any], *, of: Any = None) -> Select[Any]:
    return query.with_for_update(of=of, key_share=True).execution_options(populate_existing=True)


async def _checkout(session: AsyncSession, checkout_id: str) -> Checkout | None:
    checkout: Checkout | None = await session.scalar(
        _for_update(select(Checkout).where(Checkout.id == checkout_id))
    )
    return checkout


async def _order(session: AsyncSession, *where: Any) -> Order | None:
    query = select(Order).where(*where).options(selectinload(Order.lines))
    order: Order | None = await session.scalar(_for_update(query, of=Order))
    return order


async def _payments(session: AsyncSession, *where: Any) -> list[Payment]:
    return list(
        (await session.scalars(_for_update(select(Payment).where(*where).order_by(Payment.id)))).all()
    )


async def rows(
    session: AsyncSession,
    *,
    checkout_id: str | None = None,
    order_id: int | None = None,
    order_number: str | None = None,
    payment_ids: Iterable[int] = (),
    refund_ids: Iterable[int] = (),
) -> Locked:
    """Lock the rows named, in the one order. The order is named by id or by number."""
    locked = Locked()
    if checkout_id is not None:
        locked.checkout = await _checkout(session, checkout_id)
    if order_id is not None:
        locked.order = await _order(session, Order.id == order_id)
    elif order_number is not None:
        locked.order = await _order(session, Order.number == order_number.strip().upper())
    if ids := sorted(set(payment_ids)):
        locked.payments = await _payments(session, Payment.id.in_(ids))
    if ids := sorted(set(refund_ids)):
        query = select(Refund).where(Refund.id.in_(ids)).order_by(Refund.id)
        locked.refunds = list((await session.scalars(_for_update(query))).all())
    return locked


async def checkout_rows(session: AsyncSession, checkout_id: str) -> Locked:
    """A checkout, its order and the order's payments. Payments are made only under the checkout's lock, so
    none can appear once it is held."""
    locked = Locked(checkout=await _checkout(session, checkout_id))
    locked.order = await _order(session, Order.checkout_id == checkout_id)
    if locked.order is not None:
        locked.payments = await _payments(session, Payment.order_id == locked.order.id)
    return locked


async def payment_rows(session: AsyncSession, payment_id: int) -> Locked:
    """A payment with its checkout and order (looked up first, unlocked: they never change)."""
    found = (
        await session.execute(
            select(Order.id, Order.checkout_id)
            .join(Payment, Payment.order_id == Order.id)
            .where(Payment.id == payment_id)
        )
    ).one_or_none()
    if found is None:
        return Locked()
    return await rows(session, checkout_id=found.checkout_id, order_id=found.id, payment_ids=[payment_id])


__all__ = ["Locked", "checkout_rows", "payment_rows", "rows"]
