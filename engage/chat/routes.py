"""Chat: every route handler of the area, for the app factory."""

from typing import Any

from engage.chat.http import chat_routes
from engage.chat.pages import chat_pages

ROUTES: list[Any] = [*chat_routes, *chat_pages]
