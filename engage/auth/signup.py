"""Sign-up that does not tell who has an account.

`POST /api/auth/signup` answers the same (202, "check your email") whether the address is new or taken, and
signs nobody in. A new address gets a confirmation link; the account is made when its owner opens the link
and enters the password chosen at sign-up (so a stranger who signed up with someone else's address can
never own the account: they do not get the mail, and the owner does not know their password). A taken
address gets a note that someone tried to sign up with it. Every path hashes a password once, so the
answer takes as long either way. Pending sign-ups live in the `tokens` store for a day, under the token's
SHA-256.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from engage.auth.models import User
from engage.auth.passwords import hash_password, verify_password
from engage.auth.service import check_password, find_user, normalise_email
from engage.auth.tokens import token_hash
from engage.platform.errors import Conflict, InvalidInput, NotFound
from engage.platform.identity import Role
from engage.platform.stores import KeyValue
from engage.platform.text import one_line

PENDING_SECONDS = 24 * 3600
MailKind = Literal["confirm", "taken"]


class _Pending(msgspec.Struct):
    email: str
    password_hash: str
    name: str


@dataclass(frozen=True, slots=True)
class SignUpMail:
    """What to send: a confirmation link (`token`) to a new address, or a note to a taken one."""

    to: str
    kind: MailKind
    token: str = ""


def _key(token: str) -> str:
    return f"signup:{token_hash(token)}"


async def request_sign_up(
    session: AsyncSession, store: KeyValue, *, email: str, password: str, name: str = ""
) -> SignUpMail:
    """Validate, then remember a pending sign-up (new address) or do nothing (taken); says what to mail."""
    email = normalise_email(email)
    name = one_line(name)[:120]
    check_password(password, email=email, name=name)
    password_hash = await hash_password(password)  # on both paths: the same time either way
    if await find_user(session, email) is not None:
        return SignUpMail(email, "taken")
    token = secrets.token_urlsafe(32)
    pending = _Pending(email=email, password_hash=password_hash, name=name)
    await store.set(_key(token), msgspec.json.encode(pending), expires_in=PENDING_SECONDS)
    return SignUpMail(email, "confirm", token)


async def confirm_sign_up(session: AsyncSession, store: KeyValue, *, token: str, password: str) -> User:
    """Make the account of a pending sign-up, given its link's token and the password chosen. Commits."""
    raw = await store.get(_key(token)) if token and len(token) <= 128 else None
    if raw is None:
        raise NotFound("this link has expired or was used; sign up again", code="signup_link_expired")
    pending = msgspec.json.decode(raw, type=_Pending)
    if not await verify_password(pending.password_hash, password):
        raise InvalidInput(
            "enter the password you chose when signing up", code="wrong_password", field="password"
        )
    user = User(
        email=pending.email, password_hash=pending.password_hash, role=Role.customer.value, name=pending.name
    )
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict("this account exists already: sign in", code="account_exists") from None
    finally:
        await store.delete(_key(token))
    return user


def sign_up_mail_text(mail: SignUpMail, site: str) -> tuple[str, str]:
    """(subject, text) of the mail a sign-up sends; `site` is the public origin."""
    if mail.kind == "confirm":
        link = f"{site}/signup/confirm?token={mail.token}"
        return (
            "Confirm your email address",
            "Someone, probably you, signed up with this email address.\n\n"
            f"To finish, open this link within a day and enter the password you chose:\n\n{link}\n\n"
            "If it was not you, ignore this mail: no account is made without the link.\n",
        )
    return (
        "Someone tried to sign up with your email address",
        "Someone tried to create an account with this email address, which already has one.\n\n"
        f"If it was you, sign in at {site}/login instead. If you forgot your password, write to us.\n"
        "If it was not you, you need do nothing: your account is unchanged.\n",
    )
