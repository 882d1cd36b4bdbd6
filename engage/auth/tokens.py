"""Bearer tokens. Only their SHA-256 is kept (a leaked table or store does not leak tokens).

- API tokens (`api_tokens`): for API clients, made with the account's credentials and a name, shown once,
  listed and revoked by their owner; all of them go when the password changes. Browsers never get one:
  they sign in with the session cookie.
- Socket tokens (the `tokens` store): one minute, bridging "fetch a token over HTTP" to "open /ws".
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from engage.auth.models import ApiToken, User
from engage.platform.clock import utcnow
from engage.platform.errors import NotFound
from engage.platform.stores import KeyValue

API_TOKEN_TTL = 30 * 86400
# Socket tokens only bridge "fetch a token over HTTP" to "open the socket", so a minute is plenty.
SOCKET_TOKEN_TTL = 60
MAX_TOKENS_PER_USER = 50
# last_used_at is written at most this often per token (not a write per request).
_USE_RESOLUTION = timedelta(hours=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _key(kind: str, token: str) -> str:
    return f"{kind}:{token_hash(token)}"


class TokenService:
    """Short-lived tokens in a key-value store (socket tokens)."""

    def __init__(self, store: KeyValue) -> None:
        self._store = store

    async def issue(self, user_id: int, *, kind: str = "socket", ttl: int = SOCKET_TOKEN_TTL) -> str:
        token = secrets.token_urlsafe(32)
        await self._store.set(_key(kind, token), str(user_id).encode(), expires_in=ttl)
        return token

    async def resolve(self, token: str, *, kind: str = "socket") -> int | None:
        if not token or len(token) > 128:
            return None
        raw = await self._store.get(_key(kind, token))
        return int(raw) if raw is not None else None

    async def revoke(self, token: str, *, kind: str = "socket") -> None:
        await self._store.delete(_key(kind, token))


# ---- API tokens ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BearerAuth:
    """What `request.auth` holds for a request signed with an API token."""

    token_id: int


@dataclass(frozen=True, slots=True)
class Resolved:
    token_id: int
    user_id: int


async def create_api_token(
    session: AsyncSession, user_id: int, name: str, *, ttl: int = API_TOKEN_TTL
) -> tuple[ApiToken, str]:
    """A new token for `user_id` (the oldest goes beyond MAX_TOKENS_PER_USER); commits. The token itself
    is returned once and never stored."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiToken(
        user_id=user_id,
        name=name,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + timedelta(seconds=ttl),
    )
    session.add(row)
    await session.flush()
    surplus = (
        await session.scalars(
            select(ApiToken.id)
            .where(ApiToken.user_id == user_id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
            .offset(MAX_TOKENS_PER_USER)
        )
    ).all()
    if surplus:
        await session.execute(delete(ApiToken).where(ApiToken.id.in_(surplus)))
    await session.commit()
    return row, token


async def list_api_tokens(session: AsyncSession, user_id: int) -> list[ApiToken]:
    return list(
        (
            await session.scalars(
                select(ApiToken)
                .where(ApiToken.user_id == user_id, ApiToken.expires_at > utcnow())
                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
            )
        ).all()
    )


async def resolve_api_tokens(
    session: AsyncSession, tokens: list[str]
) -> dict[str, tuple[Resolved, User | None]]:
    """The live tokens among `tokens`, each with its account (None if deactivated), in one query; unknown
    and expired ones are left out. Notes their use (at most hourly), all in one statement, and commits."""
    wanted = {token_hash(token): token for token in tokens if token and len(token) <= 128}
    if not wanted:
        return {}
    rows = (
        await session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash.in_(list(wanted)))
        )
    ).all()
    now, found, used = utcnow(), {}, []
    for row, user in rows:
        if row.expires_at <= now:
            continue
        if row.last_used_at is None or now - row.last_used_at > _USE_RESOLUTION:
            used.append(row.id)
        found[wanted[row.token_hash]] = (Resolved(row.id, row.user_id), user if user.is_active else None)
    if used:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.id.in_(used))
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
    return found


async def revoke_api_token(session: AsyncSession, user_id: int, token_id: int) -> str:
    """Revoke one of the user's tokens (another's is NotFound); returns its hash. Commits."""
    row = await session.get(ApiToken, token_id)
    if row is None or row.user_id != user_id:
        raise NotFound("no such token", code="token_not_found")
    digest = row.token_hash
    await session.delete(row)
    await session.commit()
    return digest


async def revoke_all_api_tokens(session: AsyncSession, user_id: int) -> None:
    """Every token of the user goes (the password changed). Does not commit."""
    await session.execute(delete(ApiToken).where(ApiToken.user_id == user_id))
