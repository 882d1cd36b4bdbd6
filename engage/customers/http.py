"""Customers' doors: the list and one customer, for staff (agents, marketers, admins; shoppers: 403)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from engage.customers import service
from engage.http.guards import staff
from engage.http.params import Id, OptionalId


class CustomerController(Controller):
    path = "/api/admin/customers"
    tags = ["customers"]
    guards = [staff]

    @get()
    async def list_customers(
        self,
        db_session: AsyncSession,
        q: Annotated[str, Parameter(max_length=200, description="part of an email or a name")] = "",
        before: OptionalId = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 50,
    ) -> service.CustomerPage:
        """Shoppers' accounts, newest first, with their orders and lifetime spend (minor units)."""
        return await service.customers(db_session, q=q, before=before, limit=limit)

    @get("/{user_id:int}")
    async def one(self, db_session: AsyncSession, user_id: Id) -> service.Customer:
        """Orders, lifetime spend, conversations, points and credit, preferences and privacy requests."""
        return await service.customer(db_session, user_id)
