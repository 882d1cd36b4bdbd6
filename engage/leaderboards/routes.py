"""Leaderboards: every route handler of the area, for the app factory."""

from typing import Any

from engage.leaderboards.http import LeaderboardAdminController, LeaderboardController
from engage.leaderboards.pages import leaderboard_pages

ROUTES: list[Any] = [LeaderboardController, LeaderboardAdminController, *leaderboard_pages]
