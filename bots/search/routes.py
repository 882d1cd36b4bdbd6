"""Search: every route handler of the area, for the app factory."""

from typing import Any

from bots.search.http import SearchController, SynonymController
from bots.search.pages import search_pages

ROUTES: list[Any] = [SearchController, SynonymController, *search_pages]
