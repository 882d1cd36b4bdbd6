""" "Where is my order?": answered from the shopper's real orders (commerce's orders), never from guesses.

A signed-in shopper hears about their own orders. Anyone else gives the order number and the email used at
checkout (in one message or over several); both must match before anything about an order is said.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bots.support import intents
from bots.support.bot import ORDER_STATUS_SIGN_IN, Shopper
from commerce import orders
from commerce.orders import OrderView

SIGN_IN = ORDER_STATUS_SIGN_IN
NEED_EMAIL = (
    "Thanks! To make sure the order is yours, please also send the email address you used at checkout."
)
NEED_NUMBER = (
    "Thanks! Now please send me the order number (it looks like EN-7KQ3M9PX, in your confirmation email)."
)
NOT_FOUND = (
    "I couldn't find an order with that number and email address. Please check both (the number is in your "
    "confirmation email), or ask me for a person from our team."
)
NO_ORDERS = (
    "I can't see any orders on your account yet. If you checked out as a guest, send me the order number "
    "and the email address you used."
)

_STATUS = {
    "pending_payment": "is waiting for its payment to go through",
    "paid": "is confirmed and being prepared",
    "fulfilled": "is packed and about to ship",
    "shipped": "is on its way",
    "delivered": "was delivered",
    "cancelled": "was cancelled",
    "refunded": "was refunded",
    "partially_refunded": "was partly refunded",
}


def _day(value: date | datetime | None) -> str:
    return f"{value:%A, %B} {value.day}" if value is not None else ""


def describe(order: OrderView) -> str:
    """One order's status, tracking number and expected date, as a shopper reads them."""
    parts = [
        f"Your order {order.number} (placed {_day(order.created_at)}) {_STATUS.get(order.status, order.status)}"
    ]
    if order.status == "delivered" and order.delivered_at is not None:
        parts[0] += f" on {_day(order.delivered_at)}"
    text = parts[0] + "."
    if order.tracking_number:
        carrier = f"{order.carrier} " if order.carrier else ""
        text += f" Tracking number: {carrier}{order.tracking_number}."
    if order.expected_delivery is not None and order.status in ("paid", "fulfilled", "shipped"):
        text += f" Expected delivery: {_day(order.expected_delivery)}."
    return text


async def answer(session: AsyncSession, shopper: Shopper, text: str) -> str:
    """The bot's reply to an order-status question; `text` may hold several of the shopper's messages."""
    number = intents.order_reference(text)
    email = intents.email_in(text)
    if number and email:
        found = await orders.find_order(session, number, email)  # both must match
        return describe(found) if found is not None else NOT_FOUND
    if shopper.user_id is not None:
        recent = await orders.recent_orders(session, shopper.user_id, limit=5)
        if number:
            mine = [o for o in recent if o.number == number.upper()]
            if mine:
                return describe(mine[0])
            return NEED_EMAIL  # not among their latest: only with the checkout email
        if not recent:
            return NO_ORDERS
        reply = describe(recent[0])
        others = [o for o in recent[1:] if o.status in ("paid", "fulfilled", "shipped")]
        if others:
            reply += (
                " Also on the way: " + "; ".join(f"{o.number} ({_STATUS[o.status]})" for o in others) + "."
            )
        return reply
    if number:
        return NEED_EMAIL
    if email:
        return NEED_NUMBER
    return SIGN_IN
