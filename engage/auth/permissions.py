"""Staff permissions beyond the role. Refunds: admins always; an agent only when an admin granted it, up to
a per-refund limit the admin may set; marketers never."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.auth.models import User
from engage.platform import changes
from engage.platform.errors import InvalidInput, NotFound, PermissionDenied
from engage.platform.identity import Identity, Role

GRANTABLE = frozenset({Role.agent})


@dataclass(frozen=True, slots=True)
class RefundAllowance:
    """What one refund of this staff member may come to: `limit_cents` None is no limit."""

    limit_cents: int | None


@dataclass(frozen=True, slots=True)
class StaffMember:
    id: int
    email: str
    name: str
    role: str
    can_refund: bool
    refund_limit_cents: int | None


def _member(user: User) -> StaffMember:
    admin = user.role == Role.admin.value
    return StaffMember(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        can_refund=admin or user.can_refund,
        refund_limit_cents=None if admin else user.refund_limit_cents,
    )


async def refund_allowance(session: AsyncSession, ident: Identity) -> RefundAllowance:
    """PermissionDenied unless the asking staff member may refund."""
    if ident.role == Role.admin:
        return RefundAllowance(limit_cents=None)
    user = await session.get(User, ident.user_id) if ident.user_id is not None else None
    if user is None or ident.role not in GRANTABLE or not user.can_refund:
        raise PermissionDenied("refunds need the refund permission; an admin can grant it", code="no_refunds")
    return RefundAllowance(limit_cents=user.refund_limit_cents)


async def refund_limit(session: AsyncSession, ident: Identity) -> int | None:
    """What one refund of this member of staff may come to: None is no limit, 0 is no refunds at all (they
    may still cancel what is unpaid)."""
    try:
        return (await refund_allowance(session, ident)).limit_cents
    except PermissionDenied:
        return 0


async def staff_members(session: AsyncSession) -> list[StaffMember]:
    staff = [r.value for r in (Role.agent, Role.marketer, Role.admin)]
    users = await session.scalars(select(User).where(User.role.in_(staff)).order_by(User.id))
    return [_member(user) for user in users]


async def grant_refunds(
    session: AsyncSession, user_id: int, *, allowed: bool, limit_cents: int | None
) -> StaffMember:
    """Give an agent the refund permission (with a per-refund limit, or none) or take it away."""
    user = await session.get(User, user_id, with_for_update=True)
    if user is None or user.role not in {r.value for r in (Role.agent, Role.marketer, Role.admin)}:
        raise NotFound(f"no staff member {user_id}")
    if user.role not in {r.value for r in GRANTABLE}:
        raise InvalidInput(f"{user.role}s cannot be given refunds (admins always have them)", field="allowed")
    changes.before(
        "refund permission", user.id, {"can_refund": user.can_refund, "limit_cents": user.refund_limit_cents}
    )
    user.can_refund = allowed
    user.refund_limit_cents = limit_cents if allowed else None
    await session.commit()
    return _member(user)
