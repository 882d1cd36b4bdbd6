"""Accounts: sign-up, sign-in, staff creation, and handing a guest's things over on sign-in."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from engage.audit import record_sign_in
from engage.auth import two_factor
from engage.auth.models import User
from engage.auth.passwords import MIN_LENGTH, hash_password, needs_rehash, password_problem, verify_password
from engage.auth.throttle import LoginThrottle
from engage.auth.tokens import revoke_all_api_tokens
from engage.platform.clock import utcnow
from engage.platform.errors import Conflict, InvalidInput, NotAuthenticated, PermissionDenied
from engage.platform.identity import STAFF_ROLES, Identity, Role
from engage.platform.text import one_line

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


def check_password(password: str, *, email: str, name: str = "", field: str = "password") -> None:
    """Length, not a common or breached password, not built from the email or name (passwords.py)."""
    problem = password_problem(password, email=email, name=name)
    if problem is not None:
        code = "weak_password" if len(password) >= MIN_LENGTH else "invalid_input"
        raise InvalidInput(problem, code=code, field=field)


def identity_of(user: User, guest_id: str | None = None) -> Identity:
    return Identity(
        user_id=user.id, role=Role(user.role), guest_id=guest_id, email=user.email, name=user.name
    )


async def create_user(
    session: AsyncSession, *, email: str, password: str, role: Role = Role.customer, name: str = ""
) -> User:
    """Create an account; a taken email (also under a race) is a Conflict, never a second account."""
    email = normalise_email(email)
    check_password(password, email=email, name=name)
    user = User(
        email=email, password_hash=await hash_password(password), role=role.value, name=one_line(name)[:120]
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


async def get_users(session: AsyncSession, user_ids: list[int]) -> dict[int, User]:
    """The active accounts among `user_ids`, by id, in one query."""
    users = await session.scalars(select(User).where(User.id.in_(user_ids), User.is_active.is_(True)))
    return {user.id: user for user in users}


async def find_user(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.strip().lower()))


@dataclass(frozen=True, slots=True)
class Authenticated:
    user: User
    second_factor: bool  # the account has two-factor sign-in on, and its code was given


async def authenticate(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    client: str,
    throttle: LoginThrottle,
    otp: str | None = None,
) -> Authenticated:
    """Check credentials, and the one-time code where two-factor sign-in is on; failures of either count
    towards the throttle, and a wrong password never tells which part was wrong."""
    email = email.strip().lower()
    await throttle.check(email, client)
    user = await find_user(session, email)
    ok = await verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        await throttle.failed(email, client)
        await _audit_sign_in(session, user, client, succeeded=False)
        raise NotAuthenticated("wrong email or password", code="bad_credentials")
    second_factor = await two_factor.is_on(session, user.id)
    if second_factor:
        try:
            await two_factor.verify(session, user.id, otp)
        except NotAuthenticated as exc:
            if exc.code != "two_factor_required":
                await throttle.failed(email, client)
                await _audit_sign_in(session, user, client, succeeded=False)
            raise
    await throttle.succeeded(email, client)
    await _audit_sign_in(session, user, client, succeeded=True)
    user.last_login_at = utcnow()
    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    await session.commit()
    return Authenticated(user, second_factor)


async def _audit_sign_in(session: AsyncSession, user: User | None, client: str, *, succeeded: bool) -> None:
    """Staff accounts' sign-ins and failures go to the audit trail (shoppers' do not)."""
    if user is not None and user.role in {r.value for r in STAFF_ROLES}:
        await record_sign_in(session, actor=identity_of(user), address=client, succeeded=succeeded)


async def change_password(
    session: AsyncSession, user_id: int, *, current: str, new: str, client: str, throttle: LoginThrottle
) -> User:
    """Set a new password, given the current one (wrong guesses count towards the sign-in throttle).
    Every API token of the account is revoked and browser sessions signed in before now end. Commits."""
    user = await get_user(session, user_id)
    if user is None:
        raise NotAuthenticated("sign in required")
    await throttle.check(user.email, client)
    if not await verify_password(user.password_hash, current):
        await throttle.failed(user.email, client)
        raise PermissionDenied(
            "the current password is wrong", code="wrong_password", field="current_password"
        )
    check_password(new, email=user.email, name=user.name, field="new_password")
    user.password_hash = await hash_password(new)
    user.password_changed_at = utcnow()
    await revoke_all_api_tokens(session, user.id)
    await session.commit()
    return user


async def sign_out_everywhere(session: AsyncSession, user_id: int) -> None:
    """End every browser session of the account (signed in before now) and revoke its API tokens. Commits."""
    user = await get_user(session, user_id)
    if user is None:
        raise NotAuthenticated("sign in required")
    user.password_changed_at = utcnow()  # (the moment before which sessions end; not only for passwords)
    await revoke_all_api_tokens(session, user.id)
    await session.commit()


async def rename(session: AsyncSession, user_id: int, name: str) -> User:
    user = await get_user(session, user_id)
    if user is None:
        raise NotAuthenticated("sign in required")
    user.name = one_line(name)[:120]
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
