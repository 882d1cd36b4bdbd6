"""Back-in-stock alerts' door: sign up for a sold-out variant, list mine, remove one."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from engage.alerts import low_stock, report, service
from engage.alerts.delivery import OPEN_SALT
from engage.http.guards import identity_of, marketer, public, shopper
from engage.http.pages import not_found
from engage.http.params import Id
from engage.platform.errors import InvalidInput
from engage.push import link_token_valid
from engage.services import Services


class AlertIn(msgspec.Struct, forbid_unknown_fields=True):
    variant_id: Annotated[int, msgspec.Meta(ge=1, le=2**62)]
    email: Annotated[str, msgspec.Meta(max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")] = ""


class StockAlertController(Controller):
    path = "/api/stock-alerts"
    tags = ["stock alerts"]
    guards = [shopper]

    @post("/", status_code=201)
    async def sign_up(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, data: AlertIn
    ) -> Response[service.AlertView]:
        """Tell me when this variant is back (a guest adds `email`). 201 with the alert; asking again for the
        same variant answers 200 with the same alert. 409 `in_stock` when it can be bought now."""
        alert, new = await service.sign_up(db_session, identity_of(request), data.variant_id, data.email)
        return Response(alert, status_code=201 if new else 200)

    @get("/")
    async def mine(
        self, request: Request[Any, Any, Any], db_session: AsyncSession
    ) -> list[service.AlertView]:
        return await service.mine(db_session, identity_of(request))

    @delete("/{alert_id:int}", status_code=204)
    async def remove(self, request: Request[Any, Any, Any], db_session: AsyncSession, alert_id: Id) -> None:
        await service.remove(db_session, identity_of(request), alert_id)


Days = Annotated[int, Parameter(ge=1, le=365, description="signups made in the last N days")]


class StaffStockAlertController(Controller):
    """Marketers and admins: what shoppers wait for, and what the alerts brought."""

    path = "/api/admin/stock-alerts"
    tags = ["stock alerts"]
    guards = [marketer]

    @get("/demand")
    async def demand(self, db_session: AsyncSession, days: Days = 90) -> report.DemandReport:
        """Per variant: signups, waiting, notified, clicked (pushes or emails opened), bought within 7 days
        of the alert, and the conversion (bought / notified); most wanted first."""
        return await report.demand(db_session, days=days)

    @get("/demand.csv", media_type="text/csv")
    async def demand_csv(self, db_session: AsyncSession, days: Days = 90) -> Response[str]:
        return Response(
            report.demand_csv(await report.demand(db_session, days=days)),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="stock-alerts-{days}d.csv"'},
        )

    @get("/waiting")
    async def waiting(
        self,
        db_session: AsyncSession,
        variant_id: Annotated[list[int], Parameter(max_items=200, description="variant ids")],
    ) -> dict[str, int]:
        """Signups waiting per variant (the stock room shows them beside each variant)."""
        if any(not 0 < v < 2**62 for v in variant_id):
            raise InvalidInput("variant ids are positive integers", field="variant_id")
        counts = await low_stock.waiting_by_variant(db_session, variant_id)
        return {str(v): counts.get(v, 0) for v in variant_id}


@get("/alerts/{alert_id:int}/open", guards=[public], include_in_schema=False)
async def open_alert_link(
    request: Request[Any, Any, Any],
    services: Services,
    db_session: AsyncSession,
    alert_id: Id,
    t: Annotated[str, Parameter(max_length=64)] = "",
) -> Redirect | Template:
    """A back-in-stock email's link: the click is counted, the shopper goes on to the variant."""
    if not link_token_valid(services.push, OPEN_SALT, alert_id, t):
        return not_found(
            request,
            "This link is not valid. Copy the whole link from the email, or find the product in the shop.",
        )
    return Redirect(await service.opened(db_session, alert_id), status_code=303)
