"""Auth's jobs: the mail a sign-up sends (a confirmation link, or a note that the address has an account)."""

from __future__ import annotations

import logging
from typing import Any

from engage.auth.privacy import erase_pending
from engage.auth.signup import MailKind, SignUpMail, sign_up_mail_text
from engage.platform.mail import mail_configured, send_mail
from engage.services import Services

log = logging.getLogger("engage.auth")


async def erase_requested_accounts(ctx: dict[str, Any]) -> int:
    """Privacy: the erasures shoppers asked for (their accounts stopped working at once)."""
    services: Services = ctx["services"]
    done = await erase_pending(services.sessionmaker, services.personal_data)
    if done:
        log.info("erased %d accounts on request", done)
    return done


async def send_sign_up_mail(ctx: dict[str, Any], to: str, kind: MailKind, token: str, site: str) -> None:
    """Mail it; with no mail server (a developer's machine: production refuses sign-ups without one) the
    text goes to the log instead, so the link can still be followed."""
    services: Services = ctx["services"]
    subject, text = sign_up_mail_text(SignUpMail(to, kind, token), site)
    if not mail_configured(services.settings):
        log.warning("no mail server (ENGAGE_SMTP_HOST): mail to %s, %r:\n%s", to, subject, text)
        return
    await send_mail(services.settings, to=to, subject=subject, text=text)
