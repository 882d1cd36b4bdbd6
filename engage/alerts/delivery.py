"""Telling a wave's shoppers: a push to their devices (through engage.push: preferences and quiet hours are
honoured when it is sent, deferred, never dropped; the marketing frequency cap does not apply: they asked),
else an email (in the shopper's quiet hours: sent when they end); each names the variant, links to it and
carries the preferences link."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from engage.alerts.service import (
    Recipient,
    VariantInfo,
    WavePolicy,
    mark_notified,
    take_wave,
    variant_info,
)
from engage.platform.clock import utcnow
from engage.push import Notice, PushEnv, Topic, link_token, notify_each, preferences_link, quiet_ends, wants

ALERT_TTL = 2 * 86400
# (to, subject, text, not before): a mail for someone in their quiet hours waits until they end
SendMail = Callable[[str, str, str, datetime | None], Awaitable[None]]


OPEN_SALT = b"engage.alerts.open.v1:"


def opening_path(env: PushEnv, alert_id: int) -> str:
    """The email's link: counts the first click (`opened`), then goes on to the variant."""
    return f"/alerts/{alert_id}/open?t={link_token(env, OPEN_SALT, alert_id)}"


def notice(info: VariantInfo) -> Notice:
    """What every recipient of a wave gets (each under the key of their own alert)."""
    return Notice(
        topic=Topic.back_in_stock.value,
        key="",
        title="Back in stock",
        body=f"{info.name} is back. It may not last: the first to come get it.",
        url=f"/products/{info.handle}?variant={info.variant_id}",
        tag=f"stock-{info.variant_id}",
        ttl=ALERT_TTL,
        urgency="high",
    )


def alert_key(alert_id: int) -> str:
    return f"stock-alert:{alert_id}"


async def tell(
    session: AsyncSession,
    env: PushEnv,
    info: VariantInfo,
    recipients: Sequence[Recipient],
    send_mail: SendMail | None,
) -> dict[int, str]:
    """Each recipient's channel ("push", "email", or "" when there is none they allow): pushes to every
    recipient's devices at once (a wave that died after writing some writes nothing again), then a mail to
    each recipient no push reached."""
    pushed = await notify_each(
        session, env, [(r.owner_key, alert_key(r.alert_id)) for r in recipients], notice(info)
    )
    channels: dict[int, str] = {}
    for r in recipients:
        if alert_key(r.alert_id) in pushed:
            channels[r.alert_id] = "push"
        elif (
            r.email
            and send_mail is not None
            and await wants(session, r.owner_key, Topic.back_in_stock.value, "email")
        ):
            link = f"{env.policy.public_url}{opening_path(env, r.alert_id)}"
            text = (
                f"{info.name} is back in stock: {link}\n\n"
                "You asked us to tell you. Units are limited: the first to come get them.\n\n"
                f"Stop or change these emails: {preferences_link(env, r.owner_key)}\n"
            )
            later = await quiet_ends(session, r.owner_key, utcnow(), env.policy.zone)
            await send_mail(r.email, f"Back in stock: {info.name}", text, later)
            channels[r.alert_id] = "email"
        else:
            channels[r.alert_id] = ""
    return channels


async def send_wave(
    session: AsyncSession, env: PushEnv, variant_id: int, policy: WavePolicy, send_mail: SendMail | None
) -> tuple[int, int]:
    """One wave of the variant's alerts: take it, tell each, mark them. (told, still waiting)."""
    wave, recipients, waiting = await take_wave(session, variant_id, policy)
    if not recipients:
        return 0, waiting
    info = await variant_info(session, variant_id)
    channels = await tell(session, env, info, recipients, send_mail)
    await mark_notified(session, wave, channels)
    return len(recipients), waiting
