"""Analytics' door: the sales summary for marketers and admins (shoppers: 403)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from engage.analytics import service
from engage.http.guards import marketer
from engage.services import Services


class AnalyticsController(Controller):
    path = "/api/admin/analytics"
    tags = ["analytics"]
    guards = [marketer]

    @get("/summary")
    async def summary(
        self,
        services: Services,
        db_session: AsyncSession,
        start: Annotated[date, Parameter(query="from", description="first day, in the shop's time zone")],
        end: Annotated[date, Parameter(query="to", description="last day (inclusive)")],
    ) -> service.Summary:
        """Revenue (minor units, paid minus refunded), orders, average order value and refunds of the
        period, by day, with the previous period of the same length and the top products."""
        return await service.summary(db_session, start, end, timezone=services.settings.push_default_timezone)
