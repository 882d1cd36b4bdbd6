"""The shop's security choices, made by an admin in the back office, and "confirm it's you" before sensitive
actions.

- Two-factor roles: which staff roles need a second factor. Until an admin chooses in the back office,
  ENGAGE_TWO_FACTOR_ROLES says (admins by default); an admin's choice always includes admins and may add
  agents and marketers (kept in `security_settings`). Each process reads the choice at most every
  `POLICY_SECONDS` (at once on the node that made it).
- Re-authentication: a browser session does a sensitive action (erasing an account now, granting refunds,
  exporting the audit trail, changing these choices) only within `REAUTH_SECONDS` of giving its password
  (and code, with two-factor sign-in on) again or of signing in. API tokens are made with the password and
  the code already, and are listed and revoked by their owner: they are not asked again.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from engage.auth.models import SecuritySettings
from engage.auth.tokens import BearerAuth
from engage.platform import changes
from engage.platform.clock import utcnow
from engage.platform.db import insert_for
from engage.platform.errors import InvalidInput, PermissionDenied
from engage.platform.identity import STAFF_ROLES, Role

POLICY_SECONDS = 10.0
REAUTH_SECONDS = 10 * 60
CHOOSABLE = sorted(r.value for r in STAFF_ROLES)


async def two_factor_roles(session: AsyncSession, default: list[str]) -> list[str]:
    """The admin's choice (admins always in it), else the setting as the operator wrote it."""
    row = await session.get(SecuritySettings, 1)
    if row is None or row.two_factor_roles is None:
        return sorted(default)
    return sorted({*row.two_factor_roles, Role.admin.value})


async def choose_two_factor_roles(session: AsyncSession, roles: list[str], *, by: int) -> list[str]:
    """The roles that need a second factor from now on (admins always). Commits."""
    if unknown := sorted(set(roles) - set(CHOOSABLE)):
        raise InvalidInput(f"not a staff role: {', '.join(unknown)}", field="two_factor_roles")
    chosen = sorted({*roles, Role.admin.value})
    row = await session.get(SecuritySettings, 1, with_for_update=True)
    changes.before("two-factor roles", "shop", {"two_factor_roles": row.two_factor_roles if row else None})
    values = {"two_factor_roles": chosen, "updated_by": by, "updated_at": utcnow()}
    # one row: two first choices at once both find none, and the second updates the first's
    await session.execute(
        insert_for(session)(SecuritySettings)
        .values(id=1, **values)
        .on_conflict_do_update(index_elements=[SecuritySettings.id], set_=values)
    )
    await session.commit()
    return chosen


class TwoFactorPolicy:
    """The roles that need a second factor, as this process last read them (at most `POLICY_SECONDS` ago)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], default: list[str]) -> None:
        self._sessionmaker = sessionmaker
        self._default = default
        self._roles: list[str] = sorted(default)
        self._read_at = float("-inf")

    async def roles(self) -> list[str]:
        if time.monotonic() - self._read_at >= POLICY_SECONDS:
            async with self._sessionmaker() as session:
                self._roles = await two_factor_roles(session, self._default)
            self._read_at = time.monotonic()
        return self._roles

    async def required(self, role: str | None) -> bool:
        return role is not None and role in await self.roles()

    def forget(self) -> None:
        self._read_at = float("-inf")


def now() -> float:
    """The wall clock of re-authentication (epoch seconds: sessions outlive processes)."""
    return time.time()


def mark_confirmed(session: dict[str, Any]) -> None:
    session["reauthenticated_at"] = now()


def is_fresh(reauthenticated_at: float | None) -> bool:
    return reauthenticated_at is not None and now() - reauthenticated_at < REAUTH_SECONDS


async def recently_confirmed(connection: Any, _: Any) -> None:
    """A route guard (after the role's): a browser session confirmed it's the account's owner lately."""
    if isinstance(connection.scope.get("auth"), BearerAuth):
        return
    session = connection.scope.get("session")
    when = session.get("reauthenticated_at") if isinstance(session, dict) else None
    if not is_fresh(when):
        raise PermissionDenied(
            "confirm it's you: enter your password again (and your code, with two-factor sign-in on)",
            code="reauth_required",
        )
