"""Privacy requests: a shopper downloads everything Engage holds about them, or has it erased.

Each area that keeps personal data hands the assembly a `PersonalData` section (its name, what it exports,
how it erases); `Services.personal_data` lists them. Erasure keeps what accounting needs (orders and their
amounts, the points ledger) with nothing left that names the person: the account row stays as
"erased-{id}@erased.invalid", signed out for good.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from engage.auth.models import ApiToken, PrivacyRequest, RecoveryCode, TwoFactor, User
from engage.platform.clock import utcnow
from engage.platform.errors import Conflict, NotFound

ERASED_NAME = ""
ERASED_TEXT = "[erased]"


@dataclass(frozen=True, slots=True)
class PersonalData:
    """One area's part of a shopper's data: `export` returns JSON-able data; `erase` erases or anonymises it
    in the session given (never commits: erasure is one transaction)."""

    name: str
    export: Callable[[AsyncSession, int], Awaitable[Any]]
    erase: Callable[[AsyncSession, int], Awaitable[None]]


class RequestView(msgspec.Struct):
    id: int
    user_id: int
    kind: str
    status: str
    requested_at: datetime
    done_at: datetime | None
    done_by: str


def _view(row: PrivacyRequest) -> RequestView:
    return RequestView(row.id, row.user_id, row.kind, row.status, row.requested_at, row.done_at, row.done_by)


def erased_email(user_id: int) -> str:
    return f"erased-{user_id}@erased.invalid"


async def export(session: AsyncSession, user_id: int, sections: Sequence[PersonalData]) -> dict[str, Any]:
    """Everything about the user, by area; the request is logged."""
    data: dict[str, Any] = {"exported_at": utcnow().isoformat(), "user_id": user_id}
    for section in sections:
        data[section.name] = await section.export(session, user_id)
    now = utcnow()
    session.add(PrivacyRequest(user_id=user_id, kind="export", status="done", requested_at=now, done_at=now))
    await session.commit()
    return data


async def request_erasure(session: AsyncSession, user_id: int) -> RequestView:
    """The account stops working at once (signed out everywhere, no sign-in, no API token); its data goes
    at the erasure job's next run, or when an admin erases it."""
    user = await session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound("no such account")
    existing = await session.scalar(
        select(PrivacyRequest).where(
            PrivacyRequest.user_id == user_id,
            PrivacyRequest.kind == "erasure",
            PrivacyRequest.status == "pending",
        )
    )
    if existing is not None:
        return _view(existing)
    user.is_active = False
    user.password_changed_at = utcnow()  # ends every browser session
    await session.execute(delete(ApiToken).where(ApiToken.user_id == user_id))
    row = PrivacyRequest(user_id=user_id, kind="erasure", status="pending", requested_at=utcnow())
    session.add(row)
    await session.commit()
    return _view(row)


async def erase(
    session: AsyncSession, request_id: int, sections: Sequence[PersonalData], *, done_by: str
) -> RequestView:
    """Carry out one pending erasure, every area in one transaction."""
    row = await session.get(PrivacyRequest, request_id, with_for_update=True)
    if row is None or row.kind != "erasure":
        raise NotFound(f"no erasure request {request_id}")
    if row.status != "pending":
        raise Conflict("this erasure is done already", code="already_erased")
    for section in sections:
        await section.erase(session, row.user_id)
    row.status, row.done_at, row.done_by = "done", utcnow(), done_by
    await session.commit()
    return _view(row)


async def erase_pending(
    sessionmaker: async_sessionmaker[AsyncSession], sections: Sequence[PersonalData]
) -> int:
    """The erasure job: every pending request, one transaction each."""
    async with sessionmaker() as session:
        ids = (
            await session.scalars(
                select(PrivacyRequest.id).where(
                    PrivacyRequest.kind == "erasure", PrivacyRequest.status == "pending"
                )
            )
        ).all()
    done = 0
    for request_id in ids:
        async with sessionmaker() as session:
            try:
                await erase(session, request_id, sections, done_by="job")
                done += 1
            except Conflict:  # an admin was quicker
                await session.rollback()
    return done


async def requests(
    session: AsyncSession, *, status: str | None = None, limit: int = 200
) -> list[RequestView]:
    query = select(PrivacyRequest).order_by(PrivacyRequest.id.desc()).limit(limit)
    if status is not None:
        query = query.where(PrivacyRequest.status == status)
    return [_view(row) for row in await session.scalars(query)]


async def mine(session: AsyncSession, user_id: int) -> list[RequestView]:
    rows = await session.scalars(
        select(PrivacyRequest).where(PrivacyRequest.user_id == user_id).order_by(PrivacyRequest.id.desc())
    )
    return [_view(row) for row in rows]


# ---- the account's own section ------------------------------------------------------------------------------


async def _export_account(session: AsyncSession, user_id: int) -> dict[str, Any]:
    user = await session.get(User, user_id)
    if user is None:
        return {}
    two_factor = await session.get(TwoFactor, user_id)
    return {
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "created_at": user.created_at.isoformat(),
        "last_sign_in_at": user.last_login_at.isoformat() if user.last_login_at else None,
        "two_factor_sign_in": two_factor is not None and two_factor.confirmed_at is not None,
        "api_tokens": [
            {"name": t.name, "created_at": t.created_at.isoformat(), "expires_at": t.expires_at.isoformat()}
            for t in await session.scalars(select(ApiToken).where(ApiToken.user_id == user_id))
        ],
    }


async def _erase_account(session: AsyncSession, user_id: int) -> None:
    user = await session.get(User, user_id)
    if user is None:
        return
    user.email = erased_email(user_id)
    user.name = ERASED_NAME
    user.password_hash = "!erased:" + secrets.token_hex(16)  # no password matches it
    user.is_active = False
    for table in (ApiToken, RecoveryCode, TwoFactor):
        await session.execute(delete(table).where(table.user_id == user_id))


account_data = PersonalData("account", _export_account, _erase_account)
