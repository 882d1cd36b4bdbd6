"""Customers: every route handler of the area, for the app factory."""

from typing import Any

from engage.customers.http import CustomerController
from engage.customers.pages import customer_pages

ROUTES: list[Any] = [CustomerController, *customer_pages]
