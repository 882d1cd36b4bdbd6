"""Orders as shoppers, staff and other domains see them; who may see which order is decided here."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, and_, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from commerce import locks
from commerce.orders.models import Order, OrderAdjustment, OrderEvent, OrderLine, OrderStatus
from commerce.orders.worth import paid_parts
from engage.platform import changes
from engage.platform.clock import as_utc
from engage.platform.errors import NotFound


class OrderLineView(msgspec.Struct):
    id: int
    variant_id: int | None
    product_handle: str
    sku: str
    name: str
    options: dict[str, str]
    quantity: int
    unit_price_cents: int
    line_total_cents: int
    discount_label: str
    returned_quantity: int


class TimelineEntry(msgspec.Struct):
    kind: str
    from_status: str | None
    to_status: str | None
    actor: str
    note: str
    at: datetime
    data: dict[str, Any] = {}


class AdjustmentView(msgspec.Struct):
    source: str
    kind: str  # discount | tender
    label: str
    amount_cents: int


class OrderView(msgspec.Struct):
    id: int
    number: str
    status: str
    email: str
    user_id: int | None
    currency: str
    subtotal_cents: int
    discount_cents: int
    shipping_cents: int
    tax_cents: int
    total_cents: int  # what the card paid
    refunded_cents: int  # back to the card
    tenders_refunded_cents: int  # back to store credit and other tenders
    refundable_cents: int  # what is left of the order's worth (card and tenders) to refund
    shipping_address: dict[str, Any]
    shipping_method: str
    carrier: str
    tracking_number: str
    expected_delivery: date | None
    created_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    lines: list[OrderLineView]
    timeline: list[TimelineEntry] = []
    # paid otherwise than by card (points, store credit): `total_cents` is what is left after them
    adjustments: list[AdjustmentView] = []


class OrderSummary(msgspec.Struct):
    number: str
    status: str
    total_cents: int
    currency: str
    items: int
    created_at: datetime
    tracking_number: str
    carrier: str
    expected_delivery: date | None
    email: str = ""
    paid_at: datetime | None = None


class OrderPage(msgspec.Struct):
    items: list[OrderSummary]
    total: int  # at most COUNT_UP_TO for staff lists (then `total_capped`)
    next_before: int | None = None  # the next (older) page: `?before=` this
    total_capped: bool = False  # there are more than `total`


COUNT_UP_TO = 10_000  # staff lists count this far (a million orders are not counted on every page)


def _summary(order: Order, items: int) -> OrderSummary:
    return OrderSummary(
        paid_at=order.paid_at,
        number=order.number,
        status=order.status,
        total_cents=order.total_cents,
        currency=order.currency,
        items=items,
        created_at=order.created_at,
        tracking_number=order.tracking_number,
        carrier=order.carrier,
        expected_delivery=order.expected_delivery,
        email=order.email,
    )


STAFF_NOTE = "note"  # an entry staff wrote for each other: never in a shopper's answer


async def view_of(
    session: AsyncSession, order: Order, *, with_timeline: bool, staff_notes: bool = False
) -> OrderView:
    timeline: list[TimelineEntry] = []
    if with_timeline:
        query = select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)
        if not staff_notes:
            query = query.where(OrderEvent.kind != STAFF_NOTE)
        events = await session.scalars(query)
        timeline = [
            TimelineEntry(
                e.kind, e.from_status, e.to_status, e.actor, e.note, e.created_at, dict(e.data or {})
            )
            for e in events
        ]
    adjustments = [
        AdjustmentView(a.source, a.kind, a.label, a.amount_cents)
        for a in await session.scalars(
            select(OrderAdjustment).where(OrderAdjustment.order_id == order.id).order_by(OrderAdjustment.id)
        )
    ]
    parts = await paid_parts(session, order)
    return OrderView(
        adjustments=adjustments,
        id=order.id,
        number=order.number,
        status=order.status,
        email=order.email,
        user_id=order.user_id,
        currency=order.currency,
        subtotal_cents=order.subtotal_cents,
        discount_cents=order.discount_cents,
        shipping_cents=order.shipping_cents,
        tax_cents=order.tax_cents,
        total_cents=order.total_cents,
        refunded_cents=order.refunded_cents,
        tenders_refunded_cents=sum(parts.tenders_back.values()),
        refundable_cents=parts.remaining_cents,
        shipping_address=dict(order.shipping_address or {}),
        shipping_method=order.shipping_method,
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        expected_delivery=order.expected_delivery,
        created_at=order.created_at,
        paid_at=order.paid_at,
        shipped_at=order.shipped_at,
        delivered_at=order.delivered_at,
        cancelled_at=order.cancelled_at,
        lines=[
            OrderLineView(
                id=line.id,
                variant_id=line.variant_id,
                product_handle=line.product_handle,
                sku=line.sku,
                name=line.name,
                options=dict(line.options or {}),
                quantity=line.quantity,
                unit_price_cents=line.unit_price_cents,
                line_total_cents=line.line_total_cents,
                discount_label=line.discount_label,
                returned_quantity=line.returned_quantity,
            )
            for line in order.lines
        ],
        timeline=timeline,
    )


async def load(session: AsyncSession, number: str, *, lock: bool = False) -> Order:
    if lock:
        order = (await locks.rows(session, order_number=number)).order
    else:
        query = (
            select(Order)
            .where(Order.number == number.strip().upper())
            .options(selectinload(Order.lines))
            .execution_options(populate_existing=True)
        )
        order = await session.scalar(query)
    if order is None:
        raise NotFound(f"no order {number}")
    if lock:  # locked to be changed: what it was, for the audit trail
        changes.before(
            "order",
            order.number,
            {
                "status": order.status,
                "refunded_cents": order.refunded_cents,
                "tracking_number": order.tracking_number,
                "carrier": order.carrier,
                "returned": {
                    line.sku: line.returned_quantity for line in order.lines if line.returned_quantity
                },
            },
        )
    return order


def _mine(owner: str, user_id: int | None) -> ColumnElement[bool]:
    return Order.user_id == user_id if user_id is not None else Order.owner_key == owner


async def shopper_order(session: AsyncSession, number: str, *, owner: str, user_id: int | None) -> OrderView:
    """A shopper's own order; another shopper's is "not found", never "forbidden"."""
    order = await load(session, number)
    mine = order.user_id == user_id if user_id is not None else order.owner_key == owner
    if not mine:
        raise NotFound(f"no order {number}")
    return await view_of(session, order, with_timeline=True)


async def _page(
    session: AsyncSession,
    where: list[Any],
    *,
    offset: int,
    limit: int,
    before: int | None = None,
    count_up_to: int | None = None,
) -> OrderPage:
    items = func.coalesce(
        select(func.sum(OrderLine.quantity))
        .where(OrderLine.order_id == Order.id)
        .correlate(Order)
        .scalar_subquery(),
        0,
    )
    size = min(max(limit, 1), 100)
    keyset = [Order.id < before] if before else []
    rows = (
        await session.execute(
            select(Order, items.label("items"))
            .where(*where, *keyset)
            .order_by(Order.id.desc())
            .offset(max(offset, 0))
            .limit(size + 1)
        )
    ).all()
    matching = select(Order.id).where(*where)
    if count_up_to is not None:
        matching = matching.limit(count_up_to + 1)
    total = int(await session.scalar(select(func.count()).select_from(matching.subquery())) or 0)
    capped = count_up_to is not None and total > count_up_to
    more = len(rows) > size
    rows = rows[:size]
    return OrderPage(
        items=[_summary(r.Order, int(r.items)) for r in rows],
        total=min(total, count_up_to) if capped and count_up_to is not None else total,
        next_before=rows[-1].Order.id if more else None,
        total_capped=capped,
    )


async def shopper_orders(
    session: AsyncSession, *, owner: str, user_id: int | None, offset: int = 0, limit: int = 20
) -> OrderPage:
    """A shopper's orders, newest first (orders never paid and cancelled are left out)."""
    abandoned = and_(Order.status == OrderStatus.cancelled.value, Order.paid_at.is_(None))
    return await _page(session, [_mine(owner, user_id), not_(abandoned)], offset=offset, limit=limit)


class OrderFilter(msgspec.Struct):
    """What staff look for in the order list; every field narrows it."""

    status: str | None = None
    q: str = ""  # an order number, an email, or a word of a product's name or SKU
    since: datetime | None = None  # placed at or after
    until: datetime | None = None  # placed before
    payment: str | None = None  # unpaid | paid | refunded | partially_refunded
    fulfilment: str | None = None  # unfulfilled | fulfilled | shipped | delivered


PAYMENT_STATES: dict[str, list[str]] = {
    "unpaid": [OrderStatus.pending_payment.value],
    "paid": [
        OrderStatus.paid.value,
        OrderStatus.fulfilled.value,
        OrderStatus.shipped.value,
        OrderStatus.delivered.value,
    ],
    "refunded": [OrderStatus.refunded.value],
    "partially_refunded": [OrderStatus.partially_refunded.value],
}
FULFILMENT_STATES = ("unfulfilled", "fulfilled", "shipped", "delivered")


def _fulfilment(state: str) -> ColumnElement[bool]:
    if state == "unfulfilled":
        return and_(
            Order.paid_at.is_not(None),
            Order.shipped_at.is_(None),
            Order.status.in_([OrderStatus.paid.value, OrderStatus.partially_refunded.value]),
        )
    if state == "fulfilled":
        return Order.status == OrderStatus.fulfilled.value
    if state == "shipped":
        return and_(Order.shipped_at.is_not(None), Order.delivered_at.is_(None))
    return Order.delivered_at.is_not(None)


def _matching(q: str) -> ColumnElement[bool]:
    """An email (kept lower-case) or an order number by its index; anything else a product's name or SKU."""
    term = q.strip().lower()
    if "@" in term:
        return Order.email == term
    product = select(OrderLine.id).where(
        OrderLine.order_id == Order.id,
        or_(OrderLine.name.icontains(term, autoescape=True), func.lower(OrderLine.sku) == term),
    )
    return or_(Order.number == term.upper(), product.exists())


def _where(found: OrderFilter) -> list[Any]:
    where: list[Any] = []
    if found.status:
        where.append(Order.status == found.status)
    if found.q.strip():
        where.append(_matching(found.q))
    if found.since is not None:
        where.append(Order.created_at >= as_utc(found.since))
    if found.until is not None:
        where.append(Order.created_at < as_utc(found.until))
    if found.payment:
        where.append(Order.status.in_(PAYMENT_STATES[found.payment]))
    if found.fulfilment:
        where.append(_fulfilment(found.fulfilment))
    return where


async def staff_orders(
    session: AsyncSession,
    found: OrderFilter | None = None,
    *,
    before: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> OrderPage:
    """Newest first. Pages by `before` (the `next_before` of the previous page: stays fast however deep)
    or by `offset`."""
    where = _where(found or OrderFilter())
    return await _page(
        session, where, offset=0 if before else offset, limit=limit, before=before, count_up_to=COUNT_UP_TO
    )


async def staff_order(session: AsyncSession, number: str) -> OrderView:
    return await view_of(session, await load(session, number), with_timeline=True, staff_notes=True)


async def customer_orders(session: AsyncSession, user_id: int, *, limit: int = 50) -> OrderPage:
    """An account's orders for staff (the customer page), newest first, abandoned ones included."""
    return await _page(session, [Order.user_id == user_id], offset=0, limit=limit)


# ---- for other domains (support bot, agent console) ------------------------------------------------------


async def recent_orders(session: AsyncSession, user_id: int, *, limit: int = 5) -> list[OrderView]:
    """A user's latest orders, newest first, with lines (the bot answers "where is my order" from them)."""
    orders = await session.scalars(
        select(Order)
        .where(Order.user_id == user_id)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(min(max(limit, 1), 50))
        .options(selectinload(Order.lines))
    )
    return [await view_of(session, order, with_timeline=False) for order in orders]


async def find_order(session: AsyncSession, number: str, email: str) -> OrderView | None:
    """An order by its number and the email it was placed with (both must match; case does not matter)."""
    order = await session.scalar(
        select(Order)
        .where(Order.number == number.strip().upper(), func.lower(Order.email) == email.strip().lower())
        .options(selectinload(Order.lines))
    )
    return await view_of(session, order, with_timeline=False) if order is not None else None


class Spend(msgspec.Struct):
    orders: int  # paid orders
    spent_cents: int  # paid minus refunded
    last_order_at: datetime | None


async def spend_by_user(session: AsyncSession, user_ids: list[int]) -> dict[int, Spend]:
    """Lifetime figures per account (the customers list and page)."""
    if not user_ids:
        return {}
    rows = await session.execute(
        select(
            Order.user_id,
            func.count(Order.id),
            func.coalesce(func.sum(Order.total_cents - Order.refunded_cents), 0),
            func.max(Order.paid_at),
        )
        .where(Order.user_id.in_(user_ids), Order.paid_at.is_not(None))
        .group_by(Order.user_id)
    )
    return {
        user_id: Spend(int(count), int(spent), as_utc(last) if last else None)
        for user_id, count, spent, last in rows
        if user_id is not None
    }
