"""Payments: every route handler of the area, for the app factory."""

from typing import Any

from commerce.payments.http import (
    PaymentController,
    ReturnReceiptController,
    SavedMethodsController,
    ShopperCancelController,
    StaffRefundController,
    WebhookController,
)

ROUTES: list[Any] = [
    PaymentController,
    SavedMethodsController,
    WebhookController,
    StaffRefundController,
    ShopperCancelController,
    ReturnReceiptController,
]
