"""Back-in-stock alerts' door: sign up for a sold-out variant, list mine, remove one."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from engage.alerts import service
from engage.http.guards import identity_of, shopper
from engage.http.params import Id


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
