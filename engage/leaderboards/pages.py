"""Leaderboard pages of the storefront: every active board, and one board live."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from engage.http.guards import public
from engage.http.pages import not_found, page
from engage.leaderboards import boards


@get("/leaderboards", guards=[public], include_in_schema=False)
async def leaderboards_page(request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    found = await boards.listed(db_session)
    return page(request, "shop/leaderboards.html", boards=[boards.view_of(b) for b in found])


@get("/leaderboards/{board_id:int}", guards=[public], include_in_schema=False)
async def leaderboard_page(
    request: Request[Any, Any, Any], db_session: AsyncSession, board_id: int
) -> Template:
    """The board live: rows move as standings change, without a reload."""
    board = await db_session.get(boards.Leaderboard, board_id)
    if board is None or not board.active:
        return not_found(request, f"There is no leaderboard #{board_id}.")
    return page(request, "shop/leaderboard.html", board=boards.view_of(board))


leaderboard_pages = [leaderboards_page, leaderboard_page]
