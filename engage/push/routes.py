"""Push: every route handler of the area, for the app factory."""

from typing import Any

from engage.push.http import push_routes

ROUTES: list[Any] = [*push_routes]
