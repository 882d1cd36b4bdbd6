"""Analytics' live channel: `sales-today` carries today's tiles (marketers and admins)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from engage.analytics.service import Totals
from engage.platform.events import Event

SALES_TODAY = "sales-today"


class SalesToday(Event):
    """Today's figures after an order or a conversation changed them (the latest supersedes the rest)."""

    type: ClassVar[str] = "analytics.today"
    date: date
    currency: str
    totals: Totals
    conversations: int
