"""What staff do once an order is paid: pack it, ship it with tracking, confirm delivery."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.checkout import ShippingRates
from commerce.orders import states
from commerce.orders.models import Order, OrderStatus
from commerce.orders.views import OrderView, load, view_of
from engage.platform.clock import utcnow
from engage.platform.errors import InvalidInput


def business_days_after(start: date, days: int) -> date:
    day = start
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


async def fulfil(session: AsyncSession, number: str, *, actor: str) -> OrderView:
    order = await load(session, number, lock=True)
    states.transition(session, order, OrderStatus.fulfilled, actor=actor, note="packed")
    await session.commit()
    return await view_of(session, order, with_timeline=True)


async def ship(
    session: AsyncSession,
    number: str,
    *,
    actor: str,
    tracking_number: str,
    carrier: str = "",
    expected_delivery: date | None = None,
    shipping: ShippingRates | None = None,
) -> OrderView:
    """Mark shipped with tracking; the expected delivery defaults to the method's slowest promise."""
    tracking_number = tracking_number.strip()
    if not tracking_number:
        raise InvalidInput("a tracking number is required", field="tracking_number")
    order = await load(session, number, lock=True)
    today = utcnow().date()
    if expected_delivery is None:
        days = 5
        if shipping is not None and order.shipping_method in shipping.methods:
            days = shipping.methods[order.shipping_method].delivery_days[1]
        expected_delivery = business_days_after(today, days)
    elif expected_delivery < today:
        raise InvalidInput("the expected delivery date is in the past", field="expected_delivery")
    order.tracking_number = tracking_number
    order.carrier = carrier.strip()
    order.expected_delivery = expected_delivery
    states.transition(
        session,
        order,
        OrderStatus.shipped,
        actor=actor,
        note=f"shipped with {order.carrier or 'carrier'} {tracking_number}, expected {expected_delivery.isoformat()}",
        data={
            "tracking_number": tracking_number,
            "carrier": order.carrier,
            "expected_delivery": expected_delivery.isoformat(),
        },
    )
    await session.commit()
    return await view_of(session, order, with_timeline=True)


async def deliver(session: AsyncSession, number: str, *, actor: str) -> OrderView:
    order = await load(session, number, lock=True)
    states.transition(session, order, OrderStatus.delivered, actor=actor, note="delivered")
    await session.commit()
    return await view_of(session, order, with_timeline=True)


async def hand_over(session: AsyncSession, guest_owner: str, user_id: int) -> None:
    """A guest's orders follow them into the account they sign in to. Does not commit."""
    await session.execute(
        update(Order)
        .where(Order.owner_key == guest_owner, Order.user_id.is_(None))
        .values(user_id=user_id, owner_key=f"user:{user_id}")
    )
