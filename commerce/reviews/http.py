"""Reviews' doors: anyone reads a product's published reviews; a signed-in shopper who bought it writes,
changes or deletes theirs; staff list reviews and hide one (with a reason) or show it again."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.drafts import HANDLE_PATTERN
from commerce.reviews import service
from commerce.reviews.models import ReviewStatus
from engage.http.guards import identity_of, public, signed_in, staff
from engage.http.params import Id, OptionalId

HandleParam = Annotated[str, Parameter(pattern=HANDLE_PATTERN, description="public id, e.g. aud-001")]


class ReviewIn(msgspec.Struct, forbid_unknown_fields=True):
    rating: Annotated[int, msgspec.Meta(ge=1, le=5)]
    title: Annotated[str, msgspec.Meta(max_length=120)] = ""
    body: Annotated[str, msgspec.Meta(max_length=4000)] = ""


class Moderation(msgspec.Struct, forbid_unknown_fields=True):
    status: Literal["hidden", "published"]
    note: Annotated[str, msgspec.Meta(max_length=300)] = ""  # why it was hidden: the author sees it


class ReviewController(Controller):
    path = "/api/products/{handle:str}/reviews"
    tags = ["reviews"]

    @get("/", guards=[public])
    async def read(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        handle: HandleParam,
        before: OptionalId = None,
    ) -> service.ReviewPage:
        """Published reviews, newest first (`before`: the page after `next_before`), with the count, the
        average and the spread of ratings; for a signed-in shopper also their own review and whether
        they may write one."""
        return await service.of_product(
            db_session, handle, user_id=identity_of(request).user_id, before=before
        )

    @put("/mine", guards=[signed_in], status_code=200)
    async def write(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, handle: HandleParam, data: ReviewIn
    ) -> service.ReviewView:
        """Write or change my review. Only shoppers who bought the product: 409 `not_bought`."""
        user_id = identity_of(request).user_id
        assert user_id is not None
        return await service.write(
            db_session, handle, user_id, rating=data.rating, title=data.title, body=data.body
        )

    @delete("/mine", guards=[signed_in], status_code=204)
    async def remove(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, handle: HandleParam
    ) -> None:
        user_id = identity_of(request).user_id
        assert user_id is not None
        await service.delete_mine(db_session, handle, user_id)


class StaffReviewController(Controller):
    path = "/api/staff/reviews"
    tags = ["reviews"]
    guards = [staff]

    @get("/")
    async def all(
        self,
        db_session: AsyncSession,
        status: Literal["published", "hidden"] | None = None,
        before: OptionalId = None,
    ) -> list[service.ReviewView]:
        """Newest first, 50 at a time (`before`: the last id seen)."""
        return await service.staff_list(
            db_session, status=ReviewStatus(status) if status else None, before=before
        )

    @post("/{review_id:int}/moderation", status_code=200)
    async def moderate(self, db_session: AsyncSession, review_id: Id, data: Moderation) -> service.ReviewView:
        """Hide a review (the note says why; its author sees it) or publish it again."""
        return await service.moderate(db_session, review_id, ReviewStatus(data.status), note=data.note)
