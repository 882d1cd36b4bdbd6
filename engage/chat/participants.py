"""Who takes part in a conversation and who may see it.

A shopper sees only conversations they own (`owner_key`). Staff (agents and admins) see a conversation that
belongs to no team, or to a team they are a member of; admins see every conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from engage.chat.models import Author, Conversation, TeamMember
from engage.platform.errors import NotFound, PermissionDenied
from engage.platform.identity import Identity, Role


class Side(StrEnum):
    shopper = "shopper"
    staff = "staff"


@dataclass(frozen=True, slots=True)
class Sender:
    """The author of a stored item. `key` scopes the sender's client ids and rate limit."""

    author: Author
    key: str
    user_id: int | None = None
    name: str = ""


SYSTEM = Sender(Author.system, "system", None, "")
BOT_KEY = "bot"


def bot_sender(name: str) -> Sender:
    return Sender(Author.bot, BOT_KEY, None, name)


def is_staff(ident: Identity) -> bool:
    """May work in the agent console: agents and admins (marketers are staff, but not support staff)."""
    return ident.is_authenticated and ident.has_role(Role.agent)


def shopper_key(ident: Identity) -> str | None:
    if ident.user_id is None and ident.guest_id is None:
        return None
    return ident.owner_key


def sender_of(ident: Identity, side: Side) -> Sender:
    """The sender's key is their owner key on either side ("user:{id}" signed in, "guest:{id}" otherwise)."""
    if side is Side.staff:
        return Sender(Author.agent, ident.owner_key, ident.user_id, ident.name or ident.email or "Agent")
    return Sender(Author.shopper, ident.owner_key, ident.user_id, ident.name or "")


def staff_visibility(ident: Identity) -> ColumnElement[bool] | None:
    """A WHERE clause limiting conversations to those `ident` may see as staff (None: all of them)."""
    if ident.role is Role.admin:
        return None
    member = exists().where(TeamMember.team_id == Conversation.team_id, TeamMember.user_id == ident.user_id)
    return Conversation.team_id.is_(None) | member


async def side_of(session: AsyncSession, ident: Identity, conversation: Conversation) -> Side | None:
    """How `ident` takes part in `conversation`: as its shopper, as staff, or not at all."""
    if shopper_key(ident) == conversation.owner_key:
        return Side.shopper
    if not is_staff(ident):
        return None
    if conversation.team_id is None or ident.role is Role.admin:
        return Side.staff
    member = await session.scalar(
        select(TeamMember.user_id).where(
            TeamMember.team_id == conversation.team_id, TeamMember.user_id == ident.user_id
        )
    )
    return Side.staff if member is not None else None


async def access_conversation(
    session: AsyncSession, ident: Identity, conversation_id: int, *, lock: bool = False
) -> tuple[Conversation, Side]:
    """The conversation and `ident`'s side in it; NotFound when it does not exist or is not theirs to see.

    `lock` holds the conversation's write lock until the transaction ends (for anything that changes it).
    """
    conversation = await session.get(
        Conversation, conversation_id, populate_existing=True, with_for_update=lock or None
    )
    side = await side_of(session, ident, conversation) if conversation is not None else None
    if conversation is None or side is None:
        raise NotFound("no such conversation", code="conversation_not_found")
    return conversation, side


async def access_as_staff(
    session: AsyncSession, ident: Identity, conversation_id: int, *, lock: bool = False
) -> Conversation:
    conversation, side = await access_conversation(session, ident, conversation_id, lock=lock)
    if side is not Side.staff:
        raise PermissionDenied("only support staff can do this", code="staff_only")
    return conversation


async def access_as_shopper(
    session: AsyncSession, ident: Identity, conversation_id: int, *, lock: bool = False
) -> Conversation:
    conversation, side = await access_conversation(session, ident, conversation_id, lock=lock)
    if side is not Side.shopper:
        raise PermissionDenied("only the conversation's shopper can do this", code="shopper_only")
    return conversation
