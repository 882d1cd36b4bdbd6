"""Back-in-stock alerts: every route handler of the area, for the app factory."""

from typing import Any

from engage.alerts.http import StaffStockAlertController, StockAlertController, open_alert_link

ROUTES: list[Any] = [StockAlertController, StaffStockAlertController, open_alert_link]
