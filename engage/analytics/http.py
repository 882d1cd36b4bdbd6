"""Analytics' door: the sales summary for marketers and admins (shoppers: 403)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, Response, get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from engage import chat
from engage.analytics import funnel, service
from engage.http.guards import marketer
from engage.services import Services

From = Annotated[date, Parameter(query="from", description="first day, in the shop's time zone")]
To = Annotated[date, Parameter(query="to", description="last day (inclusive)")]


async def _summary(
    services: Services, session: AsyncSession, start: date, end: date, *, top: int = 10
) -> service.Summary:
    settings = services.settings
    return await service.summary(
        session, start, end, timezone=settings.push_default_timezone, currency=settings.currency, top=top
    )


def _csv(text: str, name: str) -> Response[str]:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


class AnalyticsController(Controller):
    path = "/api/admin/analytics"
    tags = ["analytics"]
    guards = [marketer]

    @get("/summary")
    async def summary(
        self,
        services: Services,
        db_session: AsyncSession,
        start: From,
        end: To,
    ) -> service.Summary:
        """Revenue (minor units, paid minus refunded), orders, average order value and refunds of the
        period, by day, with the previous period of the same length, and the top products."""
        return await _summary(services, db_session, start, end)

    @get("/customers")
    async def customers(
        self, services: Services, db_session: AsyncSession, start: From, end: To
    ) -> service.Customers:
        """New buyers (first paid order in the period, by email) and returning ones."""
        return await service.customers(
            db_session, start, end, timezone=services.settings.push_default_timezone
        )

    @get("/sales.csv", media_type="text/csv")
    async def sales_csv(
        self, services: Services, db_session: AsyncSession, start: From, end: To
    ) -> Response[str]:
        """The sales chart's data, a row per day beside the previous period's."""
        found = await _summary(services, db_session, start, end)
        return _csv(service.days_csv(found), f"sales-{start}-{end}.csv")

    @get("/products.csv", media_type="text/csv")
    async def products_csv(
        self, services: Services, db_session: AsyncSession, start: From, end: To
    ) -> Response[str]:
        found = await _summary(services, db_session, start, end, top=1000)
        return _csv(service.products_csv(found), f"products-{start}-{end}.csv")

    @get("/support")
    async def support(
        self, services: Services, db_session: AsyncSession, start: From, end: To
    ) -> chat.SupportFigures:
        """Conversations started in the period: answered, resolved, median times (seconds), SLA breaches
        against the first-response target, what the bot kept and why it handed over."""
        return await service.support(
            db_session,
            start,
            end,
            timezone=services.settings.push_default_timezone,
            sla_seconds=services.chat.limits.first_response_seconds,
        )

    @get("/today")
    async def today(self, services: Services, db_session: AsyncSession) -> service.Today:
        """Today so far (the tiles; `sales-today` on the hub brings each change)."""
        return await service.today(
            db_session, timezone=services.settings.push_default_timezone, currency=services.settings.currency
        )

    @get("/funnel")
    async def shop_funnel(
        self, services: Services, db_session: AsyncSession, start: From, end: To
    ) -> funnel.Funnel:
        """Visitors (owner keys, once per step and day) who viewed a product, added to the cart, started a
        checkout and paid, with the conversion at each step, by day, beside the previous period."""
        return await funnel.summary(db_session, start, end, timezone=services.settings.push_default_timezone)

    @get("/funnel.csv", media_type="text/csv")
    async def funnel_csv(
        self, services: Services, db_session: AsyncSession, start: From, end: To
    ) -> Response[str]:
        found = await funnel.summary(db_session, start, end, timezone=services.settings.push_default_timezone)
        return _csv(funnel.days_csv(found), f"funnel-{start}-{end}.csv")

    @get("/flash-sales")
    async def flash_sales(
        self, services: Services, db_session: AsyncSession, start: From, end: To
    ) -> list[funnel.SaleFunnel]:
        """Each published sale that ran in the period: claims, holds that ran out, claims paid,
        sell-through and conversion from claim to order."""
        return await funnel.flash_sales(
            db_session, start, end, timezone=services.settings.push_default_timezone
        )
