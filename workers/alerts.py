"""Back-in-stock alerts' jobs and sink: thin doors onto engage.alerts.

- The sink: any `stock.changed` that raised a variant's sellable stock (an admin's adjustment, an import, a
  return, a released hold, a flash sale's units going back) queues one wave job per variant, a second later,
  so a burst of changes makes one wave plan.
- `stock_alert_wave`: one wave; while alerts wait and the variant is in stock, the next follows after
  ENGAGE_ALERTS_WAVE_SECONDS.
- `reconcile_stock_alerts` (periodic): variants in stock with waiting alerts nobody is sending.
- Staff: a `stock.low` (availability fell to the threshold: once per crossing, not per unit sold) queues
  `low_stock_alert`: live on `stock-low` and mailed to admins and marketers. `low_stock_digest` (hourly)
  mails everything low once a day, at ENGAGE_LOW_STOCK_DIGEST_HOUR in the shop's time zone.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from commerce.inventory.events import StockChanged, StockLow
from engage.alerts import delivery, low_stock, service
from engage.platform.clock import epoch_ms, utcnow
from engage.platform.events import DomainEvent, Sink
from engage.platform.mail import mail_configured, send_mail
from engage.services import Services

log = logging.getLogger("engage.alerts")
COALESCE_SECONDS = 1.0


def _policy(services: Services) -> service.WavePolicy:
    s = services.settings
    return service.WavePolicy(factor=s.alerts_wave_factor, everyone=s.alerts_everyone_at_once)


def _job_id(services: Services, *parts: object) -> str:
    return ":".join([services.runtime.queue_name, "stock-alerts", *(str(p) for p in parts)])


async def queue_wave(
    services: Services, variant_id: int, *, after: float = COALESCE_SECONDS, tag: object = ""
) -> None:
    await services.runtime.jobs.enqueue(
        "stock_alert_wave", variant_id, job_id=_job_id(services, variant_id, tag), defer_seconds=after
    )


async def stock_alert_wave(ctx: dict[str, Any], variant_id: int) -> str:
    services: Services = ctx["services"]
    settings = services.settings

    async def mail(to: str, subject: str, text: str, not_before: datetime | None) -> None:
        if not_before is None:
            await send_mail(settings, to=to, subject=subject, text=text)
            return
        wait = max(1.0, (not_before - utcnow()).total_seconds())
        await services.runtime.jobs.enqueue(
            "stock_alert_mail",
            to,
            subject,
            text,
            job_id=_job_id(services, "mail", to, subject),
            defer_seconds=wait,
        )

    async with services.sessionmaker() as session:
        told, waiting = await delivery.send_wave(
            session, services.push, variant_id, _policy(services), mail if mail_configured(settings) else None
        )
    if not told:
        return "nothing to send"
    if waiting > 0:
        at = utcnow() + timedelta(seconds=settings.alerts_wave_seconds)
        await queue_wave(services, variant_id, after=settings.alerts_wave_seconds, tag=epoch_ms(at))
    log.info("stock alerts: variant %s, %d told, %d waiting", variant_id, told, waiting)
    return f"{told} told, {waiting} waiting"


async def stock_alert_mail(ctx: dict[str, Any], to: str, subject: str, text: str) -> str:
    """A back-in-stock mail that waited for the end of the shopper's quiet hours."""
    await send_mail(ctx["services"].settings, to=to, subject=subject, text=text)
    return "sent"


async def reconcile_stock_alerts(ctx: dict[str, Any]) -> int:
    services: Services = ctx["services"]
    async with services.sessionmaker() as session:
        variants = await service.to_reconcile(session)
    for variant_id in variants:
        await queue_wave(services, variant_id, tag=f"reconcile-{int(utcnow().timestamp())}")
    return len(variants)


async def _mail_staff(services: Services, subject: str, text: str) -> int:
    settings = services.settings
    if not mail_configured(settings):
        return 0
    async with services.sessionmaker() as session:
        recipients = await low_stock.staff_emails(session)
    for to in recipients:
        await send_mail(settings, to=to, subject=subject, text=text)
    return len(recipients)


async def low_stock_alert(ctx: dict[str, Any], variant_id: int) -> str:
    services: Services = ctx["services"]
    async with services.sessionmaker() as session:
        alert = await low_stock.raise_alert(session, variant_id)
    if alert is None:
        return "back above its threshold"
    subject, text = low_stock.alert_mail(alert, services.settings.public_url)
    mailed = await _mail_staff(services, subject, text)
    return f"{alert.sku}: {alert.available} left, mailed {mailed}"


async def low_stock_digest(ctx: dict[str, Any], *, now: datetime | None = None) -> str:
    services: Services = ctx["services"]
    settings = services.settings
    local = (now or utcnow()).astimezone(ZoneInfo(settings.push_default_timezone))
    if settings.low_stock_digest_hour is None or local.hour != settings.low_stock_digest_hour:
        return "not the hour"
    await services.runtime.jobs.enqueue(
        "send_low_stock_digest", job_id=_job_id(services, "digest", local.date().isoformat())
    )
    return "queued"


async def send_low_stock_digest(ctx: dict[str, Any]) -> str:
    services: Services = ctx["services"]
    async with services.sessionmaker() as session:
        found = await low_stock.digest(session, services.settings.public_url)
    if found is None:
        return "nothing low"
    return f"mailed {await _mail_staff(services, *found)}"


def stock_alert_sink(services: Services) -> Sink:
    async def sink(events: list[DomainEvent]) -> None:
        raised = set()
        for event in events:
            stock = StockChanged.of(event)
            if stock is not None and stock.available > max(0, stock.previous_available):
                raised.add(stock.variant_id)
            if (low := StockLow.of(event)) is not None:
                await services.runtime.jobs.enqueue(
                    "low_stock_alert",
                    low.variant_id,
                    job_id=_job_id(services, "low", low.variant_id, event.ts),
                )
        if not raised:
            return
        async with services.sessionmaker() as session:  # only variants someone waits for
            waited = await service.waited_for(session, raised)
        second = int(utcnow().timestamp())  # a burst within a second: one wave (a later one: its own)
        for variant_id in sorted(waited):
            await queue_wave(services, variant_id, tag=second)

    return sink
