"""Announcements: every route handler of the area, for the app factory."""

from typing import Any

from engage.announcements.http import AnnouncementController

ROUTES: list[Any] = [AnnouncementController]
