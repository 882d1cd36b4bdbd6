"""Checkout (and the cart page): every route handler of the area, for the app factory."""

from typing import Any

from commerce.checkout.http import AddressBookController, CheckoutController
from commerce.checkout.pages import checkout_pages

ROUTES: list[Any] = [CheckoutController, AddressBookController, *checkout_pages]
