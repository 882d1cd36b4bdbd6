"""Teams (inboxes): a conversation of a team is seen and handled by that team's agents (and admins).

With no team configured, every agent sees every conversation. A default team receives conversations that
name no team.
"""

from __future__ import annotations

import re

import msgspec
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from engage.auth import User
from engage.chat.availability import SUPPORT_ROLES
from engage.chat.models import Team, TeamMember
from engage.platform.db import insert_for
from engage.platform.errors import Conflict, InvalidInput, NotFound

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class TeamView(msgspec.Struct):
    id: int
    slug: str
    name: str
    is_default: bool
    member_ids: list[int]


async def list_teams(session: AsyncSession) -> list[TeamView]:
    teams = (await session.scalars(select(Team).order_by(Team.name))).all()
    members: dict[int, list[int]] = {}
    for team_id, user_id in (await session.execute(select(TeamMember.team_id, TeamMember.user_id))).all():
        members.setdefault(team_id, []).append(user_id)
    return [
        TeamView(
            id=t.id,
            slug=t.slug,
            name=t.name,
            is_default=t.is_default,
            member_ids=sorted(members.get(t.id, [])),
        )
        for t in teams
    ]


async def create_team(session: AsyncSession, *, slug: str, name: str, is_default: bool = False) -> Team:
    slug = slug.strip().lower()
    if not _SLUG.match(slug):
        raise InvalidInput(
            "a team slug is 1-64 lowercase letters, digits or -", code="bad_slug", field="slug"
        )
    name = name.strip()[:120] or slug
    if is_default:
        await session.execute(update(Team).values(is_default=False))
    team = Team(slug=slug, name=name, is_default=is_default)
    session.add(team)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict("a team with this slug exists", code="team_exists", field="slug") from None
    return team


async def set_member(session: AsyncSession, team_id: int, user_id: int, *, member: bool) -> None:
    if await session.get(Team, team_id) is None:
        raise NotFound("no such team", code="team_not_found")
    if member:
        user = await session.get(User, user_id)
        if user is None or user.role not in SUPPORT_ROLES:
            raise InvalidInput("only support agents can join a team", code="not_an_agent", field="user_id")
        insert = insert_for(session)
        await session.execute(
            insert(TeamMember).values(team_id=team_id, user_id=user_id).on_conflict_do_nothing()
        )
    else:
        await session.execute(
            delete(TeamMember).where(TeamMember.team_id == team_id, TeamMember.user_id == user_id)
        )
    await session.commit()
