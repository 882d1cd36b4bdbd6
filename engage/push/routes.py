"""Push: every route handler of the area, for the app factory."""

from typing import Any

from engage.push.http import push_routes
from engage.push.pages import push_pages

ROUTES: list[Any] = [*push_routes, *push_pages]
