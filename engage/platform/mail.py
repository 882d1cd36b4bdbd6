"""Outgoing mail over SMTP (ENGAGE_SMTP_*), plain text, sent off the request path by jobs."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from engage.config import Settings
from engage.platform.errors import Unavailable


def mail_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host)


async def send_mail(
    settings: Settings, *, to: str, subject: str, text: str, filename: str | None = None
) -> None:
    """Send a text mail (with `text` also attached as `filename` when given)."""
    if not mail_configured(settings):
        raise Unavailable("no mail server is configured (ENGAGE_SMTP_HOST)", code="mail_not_configured")
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    if filename:
        message.add_attachment(text.encode(), maintype="text", subtype="plain", filename=filename)
    await aiosmtplib.send(
        message,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username or None,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        start_tls=settings.smtp_starttls,
        timeout=30,
    )
