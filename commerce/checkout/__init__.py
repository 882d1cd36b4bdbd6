"""Checkout: holds the cart's stock, takes the address and shipping method, and totals on the server.

For other areas (payments, orders): the `Checkout` table, `LIVE_PAYMENT` (payment states that still hold
the checkout's stock), `own_source(checkout_id)` (the source of the checkout's own stock holds), the shop's
`ShopPolicy` (shipping and tax) and its `ShippingRates`; a checkout to pay (`get_for`, `ensure_held`,
`missing_for_payment`); `remember_address` (a paid order's address into its shopper's address book); the port
of the adjustments a checkout may apply (`CheckoutAdjustment`, `AdjustmentLine`, ...:
commerce.checkout.adjustments), which loyalty points and store credit fill at wiring time.
"""

from commerce.checkout.address_book import remember as remember_address
from commerce.checkout.adjustments import (
    AdjustmentKind,
    AdjustmentLine,
    AdjustmentRequest,
    CheckoutAdjustment,
    PlacedOrder,
)
from commerce.checkout.adjustments import commit as commit_adjustments
from commerce.checkout.checkouts import (
    LIVE_PAYMENT,
    CheckoutView,
    ensure_held,
    get_for,
    hand_over,
    missing_for_payment,
    own_source,
)
from commerce.checkout.models import Checkout, CheckoutStatus
from commerce.checkout.policy import ShopPolicy
from commerce.checkout.shipping import ShippingRates

__all__ = [
    "LIVE_PAYMENT",
    "AdjustmentKind",
    "AdjustmentLine",
    "AdjustmentRequest",
    "Checkout",
    "CheckoutAdjustment",
    "CheckoutStatus",
    "CheckoutView",
    "PlacedOrder",
    "ShippingRates",
    "ShopPolicy",
    "commit_adjustments",
    "ensure_held",
    "get_for",
    "hand_over",
    "missing_for_payment",
    "own_source",
    "remember_address",
]
