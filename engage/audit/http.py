"""The audit trail's door: admins search it and export it as CSV."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, Response, get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from engage.audit import service
from engage.auth import recently_confirmed
from engage.http.guards import admin
from engage.http.params import OptionalId

Query = Annotated[str, Parameter(max_length=200, description="part of an action or an actor's email")]


class AuditController(Controller):
    path = "/api/admin/audit"
    tags = ["audit"]
    guards = [admin]

    @get()
    async def entries(
        self,
        db_session: AsyncSession,
        q: Query = "",
        actor_id: OptionalId = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before: OptionalId = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> service.EntryPage:
        """Newest first; page with `before` (the previous page's `next_before`)."""
        return await service.search(
            db_session, q=q, actor_id=actor_id, since=since, until=until, before=before, limit=limit
        )

    @get("/export.csv", media_type="text/csv", guards=[recently_confirmed])
    async def export(
        self,
        db_session: AsyncSession,
        q: Query = "",
        actor_id: OptionalId = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Response[str]:
        """The same filters, up to 10,000 entries, as CSV."""
        page = await service.search(
            db_session, q=q, actor_id=actor_id, since=since, until=until, limit=10_000
        )
        return Response(
            service.as_csv(page),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
        )
