"""Orders: the state machine, the timeline, and what shoppers, staff and other domains read.

For other areas (the support bot, the agent console):

- `recent_orders(session, user_id, limit=5)` -> list[OrderView], newest first
- `find_order(session, number, email)` -> OrderView | None (both must match)

An `OrderView` carries status, lines, totals, `tracking_number`, `carrier` and `expected_delivery`.
"""

from commerce.orders.models import Order, OrderAdjustment, OrderLine, OrderStatus
from commerce.orders.views import OrderSummary, OrderView, find_order, recent_orders

__all__ = [
    "Order",
    "OrderAdjustment",
    "OrderLine",
    "OrderStatus",
    "OrderSummary",
    "OrderView",
    "find_order",
    "recent_orders",
]
