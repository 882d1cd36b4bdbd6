"""Chat teams: agents list them (to transfer); admins create them and set members."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post, put
from sqlalchemy.ext.asyncio import AsyncSession

from engage.chat import (
    teams,
)
from engage.http.guards import admin, agent
from engage.http.params import Id


class TeamIn(msgspec.Struct, forbid_unknown_fields=True):
    slug: Annotated[str, msgspec.Meta(max_length=64)]
    name: Annotated[str, msgspec.Meta(max_length=120)] = ""
    is_default: bool = False


class TeamOut(msgspec.Struct):
    id: int
    slug: str
    name: str
    is_default: bool


class TeamController(Controller):
    """Teams: agents list them (to transfer); admins create them and set members."""

    path = "/api/chat/teams"
    tags = ["chat console"]
    guards = [agent]

    @get("/")
    async def list_teams(self, db_session: AsyncSession) -> list[teams.TeamView]:
        return await teams.list_teams(db_session)

    @post("/", status_code=201, guards=[admin])
    async def create(self, data: TeamIn, db_session: AsyncSession) -> TeamOut:
        team = await teams.create_team(db_session, slug=data.slug, name=data.name, is_default=data.is_default)
        return TeamOut(id=team.id, slug=team.slug, name=team.name, is_default=team.is_default)

    @put("/{team_id:int}/members/{user_id:int}", status_code=204, guards=[admin])
    async def add_member(self, team_id: Id, user_id: Id, db_session: AsyncSession) -> None:
        await teams.set_member(db_session, team_id, user_id, member=True)

    @delete("/{team_id:int}/members/{user_id:int}", status_code=204, guards=[admin])
    async def remove_member(self, team_id: Id, user_id: Id, db_session: AsyncSession) -> None:
        await teams.set_member(db_session, team_id, user_id, member=False)
