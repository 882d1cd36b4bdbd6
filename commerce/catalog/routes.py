"""The catalog: every route handler of the area, for the app factory."""

from typing import Any

from commerce.catalog.http import CatalogAdminController, CatalogController
from commerce.catalog.pages import catalog_pages

ROUTES: list[Any] = [CatalogController, CatalogAdminController, *catalog_pages]
