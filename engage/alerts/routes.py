"""Back-in-stock alerts: every route handler of the area, for the app factory."""

from typing import Any

from engage.alerts.http import StaffStockAlertController, StockAlertController

ROUTES: list[Any] = [StockAlertController, StaffStockAlertController]
