"""Payment providers behind one interface: Stripe, and `test` (a simulator for the demo, never production)."""

from __future__ import annotations

from typing import Any

from commerce.payments.providers.base import (
    Intent,
    InvalidSignature,
    PaymentProvider,
    ProviderRefund,
    SavedMethod,
    WebhookNotice,
)


def make_provider(settings: Any, store: Any) -> PaymentProvider:
    """The provider ENGAGE_PAYMENT_PROVIDER names. ValueError (naming the setting) when it cannot be used."""
    if settings.payment_provider == "stripe":
        from commerce.payments.providers.stripe import StripeProvider

        if settings.stripe_api_key is None:
            raise ValueError("ENGAGE_STRIPE_API_KEY is required when ENGAGE_PAYMENT_PROVIDER=stripe")
        return StripeProvider(
            api_key=settings.stripe_api_key.get_secret_value(),
            webhook_secret=settings.stripe_webhook_secret.get_secret_value()
            if settings.stripe_webhook_secret
            else "",
            api_base=settings.stripe_api_base or None,
        )
    if settings.env == "production":
        raise ValueError(
            "ENGAGE_PAYMENT_PROVIDER=test simulates payments and is refused when ENGAGE_ENV=production; "
            "use stripe"
        )
    from commerce.payments.providers.simulated import TestProvider

    return TestProvider(store)


__all__ = [
    "Intent",
    "InvalidSignature",
    "PaymentProvider",
    "ProviderRefund",
    "SavedMethod",
    "WebhookNotice",
    "make_provider",
]
