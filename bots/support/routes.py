"""The support bot and the help centre: every route handler of the area, for the app factory."""

from typing import Any

from bots.support.http import bot_routes
from bots.support.pages import help_pages

ROUTES: list[Any] = [*bot_routes, *help_pages]
