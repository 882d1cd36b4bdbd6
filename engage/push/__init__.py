"""Web Push: subscriptions, preferences, delivery and campaigns."""
