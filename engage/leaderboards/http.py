"""Leaderboards' doors: the public boards (top N, and my rank when signed in), my display name, and the
definitions marketers and admins manage (under /api/admin/)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from sqlalchemy.ext.asyncio import AsyncSession

from engage.http.guards import identity_of, marketer, public, signed_in
from engage.http.params import Id, OptionalId
from engage.leaderboards import boards, service
from engage.leaderboards.models import Profile
from engage.services import Services


class ProfileIn(msgspec.Struct, forbid_unknown_fields=True):
    display_name: Annotated[str, msgspec.Meta(max_length=40)] = ""
    anonymous: bool = True


class ProfileOut(msgspec.Struct):
    display_name: str
    anonymous: bool


class RebuildOut(msgspec.Struct):
    board_id: int
    ranked: int


class LeaderboardController(Controller):
    path = "/api/leaderboards"
    tags = ["leaderboards"]

    @get(guards=[public])
    async def boards(
        self, db_session: AsyncSession, flash_sale_id: OptionalId = None
    ) -> list[boards.BoardView]:
        """The active boards (`flash_sale_id`: a sale's own). Live: subscribe to `leaderboard:{id}`."""
        found = await (
            boards.for_sale(db_session, flash_sale_id) if flash_sale_id else boards.listed(db_session)
        )
        return [boards.view_of(b) for b in found]

    @get("/{board_id:int}", guards=[public])
    async def board(
        self, request: Request[Any, Any, Any], services: Services, db_session: AsyncSession, board_id: Id
    ) -> service.BoardStandings:
        """Top N, and (signed in) my rank and neighbours; the same as the channel's snapshot."""
        return await services.leaderboards.standings_of(db_session, board_id, identity_of(request).user_id)

    @get("/profile", guards=[signed_in])
    async def profile(self, request: Request[Any, Any, Any], db_session: AsyncSession) -> ProfileOut:
        found = await db_session.get(Profile, identity_of(request).user_id)
        return ProfileOut(found.display_name, found.anonymous) if found else ProfileOut("", True)

    @put("/profile", guards=[signed_in])
    async def set_profile(
        self, request: Request[Any, Any, Any], services: Services, db_session: AsyncSession, data: ProfileIn
    ) -> ProfileOut:
        """How I appear on boards that show names: a display name, or anonymous."""
        user_id = identity_of(request).user_id
        assert user_id is not None
        saved = await service.set_profile(
            db_session, user_id, display_name=data.display_name, anonymous=data.anonymous
        )
        services.leaderboards.forget_name(user_id)
        return ProfileOut(saved.display_name, saved.anonymous)


class LeaderboardAdminController(Controller):
    path = "/api/admin/leaderboards"
    tags = ["leaderboards (admin)"]
    guards = [marketer]

    @get()
    async def all(self, db_session: AsyncSession) -> list[boards.BoardView]:
        return [boards.view_of(b) for b in await boards.listed(db_session, active_only=False)]

    @post(status_code=201)
    async def create(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        db_session: AsyncSession,
        data: boards.BoardPlan,
    ) -> boards.BoardView:
        """What is counted (points earned, referrals completed, a flash sale's purchases, spend in a category),
        over which period (all time, this month, this week, a date range, a flash sale's length)."""
        board = await boards.create(db_session, data, created_by=identity_of(request).user_id)
        services.leaderboards.forget_boards()
        await services.leaderboards.rebuild(board.id)
        return boards.view_of(board)

    @put("/{board_id:int}")
    async def update(
        self, services: Services, db_session: AsyncSession, board_id: Id, data: boards.BoardPlan
    ) -> boards.BoardView:
        board = await boards.update(db_session, board_id, data)
        services.leaderboards.forget_boards()
        await services.leaderboards.rebuild(board.id)
        return boards.view_of(board)

    @get("/{board_id:int}")
    async def one(self, services: Services, db_session: AsyncSession, board_id: Id) -> service.BoardStandings:
        return await services.leaderboards.standings_of(db_session, board_id, None, staff=True)

    @post("/{board_id:int}/rebuild", status_code=200)
    async def rebuild(self, services: Services, db_session: AsyncSession, board_id: Id) -> RebuildOut:
        """Recompute the board from the database and replace the store's standings."""
        await boards.get(db_session, board_id, active_only=False)
        await db_session.commit()
        return RebuildOut(board_id=board_id, ranked=await services.leaderboards.rebuild(board_id))
