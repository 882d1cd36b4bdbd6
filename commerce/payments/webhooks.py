"""Provider webhooks: verified, recorded once in the same transaction as their effect, never trusted.

The payload only tells us which payment to look at; its state is fetched from the provider, so duplicates,
late or out-of-order deliveries all converge on what the provider says now (and settlement only moves
forward).
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.payments import refunds, settlement
from commerce.payments.models import Payment, WebhookEvent
from commerce.payments.providers.base import PaymentProvider
from engage.platform.errors import NotFound

log = logging.getLogger("engage.payments")


async def handle(session: AsyncSession, provider: PaymentProvider, payload: bytes, signature: str) -> str:
    """Process one delivery; returns "processed", "duplicate" or "ignored". InvalidSignature when forged."""
    notice = provider.verify_webhook(payload, signature)
    seen = await session.scalar(
        select(WebhookEvent.event_id).where(
            WebhookEvent.provider == provider.name, WebhookEvent.event_id == notice.event_id
        )
    )
    await session.commit()
    if seen is not None:
        return "duplicate"

    payment_id, intent = None, None
    if notice.intent_id:
        try:
            intent = await provider.retrieve(notice.intent_id)  # the provider's word, not the payload's
        except NotFound:
            intent = None  # nothing the provider knows of: nothing for us to do
    if intent is not None:
        payment_id = await session.scalar(select(Payment.id).where(Payment.intent_id == intent.id))
        if payment_id is None and (meta := (intent.metadata or {}).get("payment_id", "")).isdigit():
            # our process stopped before it stored the intent id: the metadata names the attempt
            candidate = await session.get(Payment, int(meta))
            if candidate is not None and candidate.intent_id in (None, intent.id):
                payment_id = candidate.id
        await session.commit()

    session.add(
        WebhookEvent(
            provider=provider.name,
            event_id=notice.event_id,
            type=notice.type[:80],
            object_id=notice.intent_id,
        )
    )
    try:
        await session.flush()  # a concurrent delivery of the same event waits here, then fails
        settled = None
        if payment_id is not None and intent is not None:
            settled = await settlement.apply(session, payment_id, intent, actor=provider.name)
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return "duplicate"
    if settled is not None and settled.refund_payment_id is not None:
        await refunds.refund_unfulfillable(session, settled.refund_payment_id, provider=provider)
    if payment_id is None:
        log.info("webhook %s (%s) is about nothing of ours", notice.event_id, notice.type)
        return "ignored"
    return "processed"
