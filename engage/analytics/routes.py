"""Analytics: every route handler of the area, for the app factory."""

from typing import Any

from engage.analytics.http import AnalyticsController

ROUTES: list[Any] = [AnalyticsController]
