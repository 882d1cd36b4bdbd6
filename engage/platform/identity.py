"""Who is asking: a signed-in user of some role, or a guest known by an anonymous session id.

A kernel type: every door, socket frame and domain service that checks access takes an `Identity`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    customer = "customer"
    agent = "agent"
    marketer = "marketer"
    admin = "admin"


STAFF_ROLES = frozenset({Role.agent, Role.marketer, Role.admin})


@dataclass(frozen=True, slots=True)
class Identity:
    user_id: int | None
    role: Role | None
    guest_id: str | None = None
    email: str | None = None
    name: str = ""
    # signed in with a password only, in a role whose powers need a second factor: not usable as staff yet
    needs_second_factor: bool = False

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def has_role(self, *roles: Role) -> bool:
        return self.role is not None and (self.role in roles or self.role is Role.admin)

    @property
    def owner_key(self) -> str:
        """Stable key of a shopper's own resources (cart, chat): the user if signed in, else the guest."""
        return f"user:{self.user_id}" if self.user_id is not None else f"guest:{self.guest_id}"


ANONYMOUS = Identity(user_id=None, role=None)
