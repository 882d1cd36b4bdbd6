"""Loyalty and referrals: every route handler of the area, for the app factory."""

from typing import Any

from engage.loyalty.http import LoyaltyAdminController, LoyaltyController
from engage.loyalty.pages import loyalty_pages

ROUTES: list[Any] = [LoyaltyController, LoyaltyAdminController, *loyalty_pages]
