"""Analytics: every route handler of the area, for the app factory."""

from typing import Any

from engage.analytics.http import AnalyticsController
from engage.analytics.pages import analytics_pages

ROUTES: list[Any] = [AnalyticsController, *analytics_pages]
