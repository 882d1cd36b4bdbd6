"""Accounts: sign-up, sign-in, staff creation, and handing a guest's things over on sign-in."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from engage.auth.models import User
from engage.auth.passwords import MAX_LENGTH, MIN_LENGTH, hash_password, needs_rehash, verify_password
from engage.auth.throttle import LoginThrottle
from engage.platform.clock import utcnow
from engage.platform.errors import Conflict, InvalidInput, NotAuthenticated
from engage.platform.identity import Identity, Role

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")

log = logging.getLogger("engage.auth")

# Called after a guest signs in or signs up, with (session, guest_id, user_id), so carts and chats follow.
GuestHandover = Callable[[AsyncSession, str, int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class NewAccount:
    """A shopper who just signed up: what other areas may want of that moment (loyalty: the sign-up bonus
    and the referral it came through, with what its fraud checks look at)."""

    user_id: int
    email: str
    referral_code: str = ""
    ip: str = ""
    device: str = ""  # the guest id of the browser that signed up


# Called once after a sign-up, with (session, NewAccount); areas add theirs to `Services.signups`.
SignUpHook = Callable[[AsyncSession, NewAccount], Awaitable[None]]


async def welcome(session: AsyncSession, account: NewAccount, hooks: list[SignUpHook]) -> None:
    """Tell the areas about a new account; one that fails is logged and never undoes the sign-up."""
    for hook in hooks:
        try:
            await hook(session, account)
        except Exception:
            await session.rollback()
            log.exception("a sign-up hook failed for user %s", account.user_id)


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidInput("enter a valid email address", field="email")
    return email


def _check_password(password: str) -> None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(f"password must be {MIN_LENGTH} to {MAX_LENGTH} characters", field="password")


def identity_of(user: User, guest_id: str | None = None) -> Identity:
    return Identity(
        user_id=user.id, role=Role(user.role), guest_id=guest_id, email=user.email, name=user.name
    )


async def create_user(
    session: AsyncSession, *, email: str, password: str, role: Role = Role.customer, name: str = ""
) -> User:
    """Create an account; a taken email (also under a race) is a Conflict, never a second account."""
    email = normalise_email(email)
    _check_password(password)
    user = User(
        email=email, password_hash=await hash_password(password), role=role.value, name=name.strip()[:120]
    )
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict(
            "an account with this email already exists", code="email_taken", field="email"
        ) from None
    return user


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    user = await session.get(User, user_id)
    return user if user is not None and user.is_active else None


async def find_user(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.strip().lower()))


async def authenticate(
    session: AsyncSession, *, email: str, password: str, client: str, throttle: LoginThrottle
) -> User:
    """Check credentials; failures count towards the throttle and never tell which part was wrong."""
    email = email.strip().lower()
    await throttle.check(email, client)
    user = await find_user(session, email)
    ok = await verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        await throttle.failed(email, client)
        raise NotAuthenticated("wrong email or password", code="bad_credentials")
    await throttle.succeeded(email, client)
    user.last_login_at = utcnow()
    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    await session.commit()
    return user


async def hand_over_guest(
    session: AsyncSession, guest_id: str | None, user: User, handovers: list[GuestHandover]
) -> None:
    if not guest_id:
        return
    for handover in handovers:
        await handover(session, guest_id, user.id)
    await session.commit()


async def count_users(session: AsyncSession, role: Role | None = None) -> int:
    query = select(func.count()).select_from(User)
    if role is not None:
        query = query.where(User.role == role.value)
    return int(await session.scalar(query) or 0)
