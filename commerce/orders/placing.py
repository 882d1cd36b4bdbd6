"""Placing an order: a checkout's priced lines copied into an order waiting for its payment."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from commerce.checkout.models import Checkout
from commerce.orders.models import Order, OrderEvent, OrderLine, OrderStatus

# No 0/O, 1/I/L: order numbers are read out over the phone and typed into the support chat.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_number() -> str:
    return "EN-" + "".join(secrets.choice(_ALPHABET) for _ in range(8))


async def place(session: AsyncSession, checkout: Checkout, *, actor: str) -> Order:
    """The order of a checkout (made once: `checkout_id` is unique), lines and totals as priced now."""
    order = await session.scalar(
        select(Order).where(Order.checkout_id == checkout.id).options(selectinload(Order.lines))
    )
    if order is None:
        order = Order(
            number=new_number(),
            checkout_id=checkout.id,
            owner_key=checkout.owner_key,
            user_id=checkout.user_id,
            email=checkout.email,
            status=OrderStatus.pending_payment.value,
            currency=checkout.currency,
            subtotal_cents=0,
            shipping_cents=0,
            tax_cents=0,
            total_cents=0,
            lines=[],
        )
        session.add(order)
        copy_totals(order, checkout)
        await session.flush()
        session.add(
            OrderEvent(
                order_id=order.id, kind="status", to_status=order.status, actor=actor, note="order placed"
            )
        )
    elif order.status == OrderStatus.pending_payment.value:
        copy_totals(order, checkout)  # a retry after a decline may be priced differently
    return order


def copy_totals(order: Order, checkout: Checkout) -> None:
    order.email = checkout.email
    order.subtotal_cents = checkout.subtotal_cents
    order.discount_cents = checkout.discount_cents
    order.shipping_cents = checkout.shipping_cents
    order.tax_cents = checkout.tax_cents
    order.total_cents = checkout.total_cents
    order.shipping_address = dict(checkout.address)
    order.shipping_method = checkout.shipping_method
    order.lines.clear()
    for line in checkout.lines:
        order.lines.append(
            OrderLine(
                variant_id=line["variant_id"],
                product_handle=line["product_handle"],
                sku=line["sku"],
                name=line["name"],
                options=line.get("options") or {},
                quantity=line["quantity"],
                unit_price_cents=line["unit_price_cents"],
                line_total_cents=line["line_total_cents"],
                discount_label=line.get("discount_label", ""),
            )
        )
