"""Returns' doors: shoppers ask to return items of their delivered order and see their returns; staff list
returns and reject one (receiving one refunds it: commerce.payments.http)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.returns import service
from commerce.returns.models import ReturnStatus
from engage.http.guards import identity_of, shopper, staff
from engage.http.params import Id
from engage.services import Services


class ReturnLineIn(msgspec.Struct, forbid_unknown_fields=True):
    line_id: Annotated[int, msgspec.Meta(ge=1, le=2**62)]
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1000)]


class ReturnIn(msgspec.Struct, forbid_unknown_fields=True):
    lines: Annotated[list[ReturnLineIn], msgspec.Meta(min_length=1, max_length=100)]
    reason: Annotated[str, msgspec.Meta(max_length=300)] = ""


class Rejection(msgspec.Struct, forbid_unknown_fields=True):
    note: Annotated[str, msgspec.Meta(max_length=300)] = ""


class ReturnController(Controller):
    path = "/api/orders/{number:str}/returns"
    tags = ["returns"]
    guards = [shopper]

    @post("/", status_code=201)
    async def ask(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        db_session: AsyncSession,
        number: str,
        data: ReturnIn,
    ) -> service.ReturnView:
        """Return some units of some lines of my delivered order (within the return window): 201 with the
        return's number and instructions. More than bought minus returned or already asked: 409."""
        ident = identity_of(request)
        row = await service.request(
            db_session,
            number,
            owner=ident.owner_key,
            user_id=ident.user_id,
            lines=[service.Line(line.line_id, line.quantity) for line in data.lines],
            reason=data.reason,
            window_days=services.settings.returns_window_days,
        )
        return service.view(row, services.settings.returns_address)

    @get("/")
    async def mine(
        self, request: Request[Any, Any, Any], services: Services, db_session: AsyncSession, number: str
    ) -> list[service.ReturnView]:
        ident = identity_of(request)
        rows = await service.of_order(db_session, number, owner=ident.owner_key, user_id=ident.user_id)
        return [service.view(row, services.settings.returns_address) for row in rows]


class StaffReturnController(Controller):
    path = "/api/staff/returns"
    tags = ["returns"]
    guards = [staff]

    @get("/")
    async def all(
        self,
        services: Services,
        db_session: AsyncSession,
        status: Literal["requested", "refunded", "rejected"] | None = None,
    ) -> list[service.ReturnView]:
        return [
            service.view(row, services.settings.returns_address)
            for row in await service.staff_list(db_session, status)
        ]

    @post("/{return_id:int}/reject", status_code=200)
    async def reject(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        db_session: AsyncSession,
        return_id: Id,
        data: Rejection,
    ) -> service.ReturnView:
        row = await service.close(
            db_session,
            return_id,
            ReturnStatus.rejected,
            actor=f"user:{identity_of(request).user_id}",
            note=data.note,
        )
        return service.view(row, services.settings.returns_address)
