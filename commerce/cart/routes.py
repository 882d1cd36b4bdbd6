"""The cart: every route handler of the area, for the app factory."""

from typing import Any

from commerce.cart.http import CartController

ROUTES: list[Any] = [CartController]
