"""Returns: every route handler of the area, for the app factory."""

from typing import Any

from commerce.returns.http import ReturnController, StaffReturnController
from commerce.returns.pages import return_pages

ROUTES: list[Any] = [ReturnController, StaffReturnController, *return_pages]
