"""Orders: the state machine, the timeline, and what shoppers, staff and other domains read.

For other areas (the support bot, the agent console):

- `recent_orders(session, user_id, limit=5)` -> list[OrderView], newest first
- `find_order(session, number, email)` -> OrderView | None (both must match)
- `customer_orders(session, user_id)` -> OrderPage and `spend_by_user(session, user_ids)` -> {id: Spend}
  (the back office's customers)

An `OrderView` carries status, lines, totals, `tracking_number`, `carrier` and `expected_delivery`.

For payments (which settle, refund and cancel orders): `place(session, checkout, actor=...)`, the state
machine's `can`, `refundable`, `transition` and `note`, `load` / `view_of` of one order, and `paid_parts`
(what it is worth: its card and its tenders, and what went back of each).
"""

from commerce.orders.models import Order, OrderAdjustment, OrderLine, OrderStatus
from commerce.orders.placing import place
from commerce.orders.states import can, note, refundable, transition
from commerce.orders.views import (
    OrderPage,
    OrderSummary,
    OrderView,
    Spend,
    customer_orders,
    find_order,
    load,
    recent_orders,
    shopper_order,
    spend_by_user,
    view_of,
)
from commerce.orders.worth import PaidParts, paid_parts

__all__ = [
    "Order",
    "OrderAdjustment",
    "OrderLine",
    "OrderPage",
    "OrderStatus",
    "OrderSummary",
    "OrderView",
    "PaidParts",
    "Spend",
    "can",
    "customer_orders",
    "find_order",
    "load",
    "note",
    "paid_parts",
    "place",
    "recent_orders",
    "refundable",
    "shopper_order",
    "spend_by_user",
    "transition",
    "view_of",
]
