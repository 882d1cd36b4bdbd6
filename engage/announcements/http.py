"""HTTP door of announcements (marketing)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from engage.announcements import service
from engage.http.guards import identity_of, marketer, public
from engage.http.params import Id


class NewAnnouncement(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=service.MAX_CHARS * 2)]
    level: Literal["info", "promo", "warning"] = "info"
    minutes: Annotated[int, msgspec.Meta(ge=1, le=service.MAX_MINUTES)] = 60


class AnnouncementController(Controller):
    path = "/api/announcements"
    tags = ["announcements"]

    @post("/", guards=[marketer], status_code=201)
    async def post_announcement(
        self, request: Request[Any, Any, Any], data: NewAnnouncement, db_session: AsyncSession
    ) -> dict[str, Any]:
        """Show a notice on every open storefront tab (live on the `announcements` channel)."""
        announcement = await service.announce(
            db_session, identity_of(request), data.text, level=data.level, minutes=data.minutes
        )
        return service.as_dict(announcement)

    @get("/", guards=[public])
    async def running_announcements(self, db_session: AsyncSession) -> list[dict[str, Any]]:
        """The notices running now, newest first (the few a storefront shows)."""
        return [service.as_dict(a) for a in await service.running(db_session)]

    @get("/running", guards=[marketer])
    async def all_running(self, db_session: AsyncSession) -> list[dict[str, Any]]:
        """Every notice running now, newest first (marketing's list)."""
        return [service.as_dict(a) for a in await service.running(db_session, limit=100)]

    @post("/{announcement_id:int}/end", guards=[marketer], status_code=200)
    async def end_announcement(self, announcement_id: Id, db_session: AsyncSession) -> dict[str, Any]:
        """End a notice now: it leaves every open storefront tab."""
        return service.as_dict(await service.end(db_session, announcement_id))
