"""Two-factor sign-in with any authenticator app (TOTP, RFC 6238: 6 digits, 30 seconds, SHA-1), plus
one-time recovery codes. Staff of the roles that need it (engage.auth.security: admins by default) use their
powers only once a second factor was given; anyone may turn it on for their own account."""

from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass

import pyotp
import segno
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from engage.auth.models import RecoveryCode, TwoFactor, User
from engage.platform.clock import utcnow
from engage.platform.db import rows_matched
from engage.platform.errors import Conflict, NotAuthenticated

ISSUER = "Engage"
RECOVERY_CODES = 10
STEP_SECONDS = 30
# a code of the step before or after this one is accepted too (clocks drift)
DRIFT_STEPS = 1


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str  # base32, for typing into the app by hand
    otpauth_uri: str
    qr_svg: str  # the same URI as a QR code to scan


async def is_on(session: AsyncSession, user_id: int) -> bool:
    row = await session.get(TwoFactor, user_id)
    return row is not None and row.confirmed_at is not None


async def start(session: AsyncSession, user: User) -> Enrolment:
    """A new secret to confirm with a first code; replaces one not yet confirmed."""
    row = await session.get(TwoFactor, user.id, with_for_update=True)
    if row is not None and row.confirmed_at is not None:
        raise Conflict("two-factor sign-in is on already; turn it off first", code="two_factor_on")
    secret = pyotp.random_base32()
    if row is None:
        session.add(TwoFactor(user_id=user.id, secret=secret, created_at=utcnow()))
    else:
        row.secret, row.last_step, row.created_at = secret, 0, utcnow()
    await session.commit()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    svg = io.BytesIO()
    segno.make(uri, error="m").save(svg, kind="svg", scale=5, border=2, xmldecl=False, svgns=True)
    return Enrolment(secret=secret, otpauth_uri=uri, qr_svg=svg.getvalue().decode())


async def confirm(session: AsyncSession, user_id: int, code: str) -> list[str]:
    """Turn it on with the app's first code; returns the recovery codes (shown this once)."""
    row = await session.get(TwoFactor, user_id, with_for_update=True)
    if row is None:
        raise Conflict("start the enrolment first", code="two_factor_not_started")
    if row.confirmed_at is not None:
        raise Conflict("two-factor sign-in is on already", code="two_factor_on")
    step = _matching_step(row, code)
    if step is None:
        raise NotAuthenticated("that code does not match; check the app's clock", code="two_factor_invalid")
    row.confirmed_at, row.last_step = utcnow(), step
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    session.add_all(RecoveryCode(user_id=user_id, code_hash=_digest(c)) for c in codes)
    await session.commit()
    return codes


async def verify(session: AsyncSession, user_id: int, code: str | None) -> None:
    """NotAuthenticated unless `code` is a current TOTP code not used before, or an unused recovery code."""
    if not code:
        raise NotAuthenticated(
            "enter the code from your authenticator app (or a recovery code)", code="two_factor_required"
        )
    row = await session.get(TwoFactor, user_id, with_for_update=True)
    if row is None or row.confirmed_at is None:
        return
    step = _matching_step(row, code)
    if step is not None:
        claimed = await session.execute(
            update(TwoFactor)
            .where(TwoFactor.user_id == user_id, TwoFactor.last_step < step)
            .values(last_step=step)
        )
        await session.commit()
        if rows_matched(claimed):
            return
    elif await _use_recovery_code(session, user_id, code):
        return
    raise NotAuthenticated("that code is wrong or was used already", code="two_factor_invalid")


async def turn_off(session: AsyncSession, user_id: int, code: str | None) -> None:
    """With a current code (or a recovery code)."""
    await verify(session, user_id, code)
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    await session.execute(delete(TwoFactor).where(TwoFactor.user_id == user_id))
    await session.commit()


async def recovery_codes_left(session: AsyncSession, user_id: int) -> int:
    rows = await session.scalars(
        select(RecoveryCode.id).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )
    return len(rows.all())


def _matching_step(row: TwoFactor, code: str) -> int | None:
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(row.secret)
    now = int(utcnow().timestamp()) // STEP_SECONDS
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if secrets.compare_digest(totp.at(step * STEP_SECONDS), code) and step > row.last_step:
            return step
    return None


async def _use_recovery_code(session: AsyncSession, user_id: int, code: str) -> bool:
    used = await session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == _digest(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    await session.commit()
    return rows_matched(used) == 1


def _new_recovery_code() -> str:
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
    raw = "".join(secrets.choice(alphabet) for _ in range(16))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:12]}-{raw[12:]}"


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().lower().replace(" ", "").encode()).hexdigest()
