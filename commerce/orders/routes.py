"""Orders: every route handler of the area, for the app factory."""

from typing import Any

from commerce.orders.http import OrderController, StaffOrderController
from commerce.orders.pages import order_pages

ROUTES: list[Any] = [OrderController, StaffOrderController, *order_pages]
