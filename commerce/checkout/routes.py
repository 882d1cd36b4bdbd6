"""Checkout (and the cart page): every route handler of the area, for the app factory."""

from typing import Any

from commerce.checkout.http import CheckoutController
from commerce.checkout.pages import checkout_pages

ROUTES: list[Any] = [CheckoutController, *checkout_pages]
