"""Product reviews: a shopper who bought a product rates it (1 to 5) and says why; one review per shopper and
product, which they may change or delete. Staff hide a review (with a reason) or show it again. Every change
records `review.changed` for the areas that follow reviews (loyalty's review bonus)."""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy import case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.models import Product
from commerce.orders.models import Order, OrderLine, OrderStatus
from commerce.reviews.events import ReviewChanged
from commerce.reviews.models import Review, ReviewStatus
from engage.auth import User
from engage.platform.clock import utcnow
from engage.platform.db import insert_for
from engage.platform.errors import Conflict, NotFound
from engage.platform.events import record

PAGE = 20
_BOUGHT = (
    OrderStatus.paid.value,
    OrderStatus.fulfilled.value,
    OrderStatus.shipped.value,
    OrderStatus.delivered.value,
    OrderStatus.partially_refunded.value,
)


class ReviewView(msgspec.Struct):
    id: int
    product_handle: str
    rating: int
    title: str
    body: str
    author: str
    verified: bool  # written by a shopper whose paid order holds the product
    status: str
    created_at: datetime
    updated_at: datetime
    moderation_note: str = ""  # staff's reason for hiding it (staff and the author see it)


class ReviewPage(msgspec.Struct):
    product_handle: str
    count: int
    average: float | None  # of the published ratings, to one decimal
    by_rating: dict[int, int]  # 5 -> how many gave five, ...
    reviews: list[ReviewView]
    next_before: int | None = None  # the id to ask `before` for the next, older page
    mine: ReviewView | None = None  # the asking shopper's own review, whatever its status
    can_review: bool = False  # the asking shopper bought it (and may write or change theirs)


def _view(review: Review, handle: str, *, staff: bool = False, own: bool = False) -> ReviewView:
    return ReviewView(
        id=review.id,
        product_handle=handle,
        rating=review.rating,
        title=review.title,
        body=review.body,
        author=review.author,
        verified=review.order_id is not None,
        status=review.status,
        created_at=review.created_at,
        updated_at=review.updated_at,
        moderation_note=review.moderation_note if staff or own else "",
    )


def _author(user: User | None) -> str:
    """The first name and the initial of the last ("Casey S."), or "A shopper"."""
    words = (user.name if user else "").split()
    if not words:
        return "A shopper"
    return (words[0][:40] + (f" {words[-1][0]}." if len(words) > 1 else "")).strip()


async def _product(session: AsyncSession, handle: str) -> Product:
    product = await session.scalar(select(Product).where(Product.handle == handle.strip().lower()))
    if product is None:
        raise NotFound(f"no product {handle}")
    return product


async def buying_order(session: AsyncSession, user_id: int, handle: str) -> int | None:
    """The shopper's earliest paid (and not wholly refunded) order holding the product."""
    return await session.scalar(
        select(Order.id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(
            Order.user_id == user_id,
            Order.status.in_(_BOUGHT),
            OrderLine.product_handle == handle,
        )
        .order_by(Order.paid_at, Order.id)
        .limit(1)
    )


def _announce(session: AsyncSession, review: Review, status: str) -> None:
    record(
        session,
        ReviewChanged(
            review_id=review.id, user_id=review.user_id, product_id=review.product_id, status=status
        ),
    )


async def write(
    session: AsyncSession, handle: str, user_id: int, *, rating: int, title: str, body: str
) -> ReviewView:
    """Write or change my review of a product I bought (409 `not_bought` otherwise). A hidden review
    stays hidden when changed; a deleted one is published again. Commits."""
    product = await _product(session, handle)
    order_id = await buying_order(session, user_id, product.handle)
    if order_id is None:
        raise Conflict("only shoppers who bought this product can review it", code="not_bought")
    now = utcnow()
    author = _author(await session.get(User, user_id))
    values = {"rating": rating, "title": title.strip(), "body": body.strip(), "updated_at": now}
    insert = insert_for(session)(Review).values(
        product_id=product.id, user_id=user_id, order_id=order_id, author=author, created_at=now, **values
    )
    status = Review.__table__.c.status
    again = case((status == ReviewStatus.deleted.value, ReviewStatus.published.value), else_=status)
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["product_id", "user_id"], set_={**values, "status": again}
        )
    )  # one row whatever the race: two first reviews at once are one review
    review = await _own(session, product.id, user_id)
    assert review is not None
    _announce(session, review, review.status)
    await session.commit()
    return _view(review, product.handle, own=True)


async def _own(session: AsyncSession, product_id: int, user_id: int) -> Review | None:
    return await session.scalar(
        select(Review)
        .where(Review.product_id == product_id, Review.user_id == user_id)
        .execution_options(populate_existing=True)
    )


async def delete_mine(session: AsyncSession, handle: str, user_id: int) -> None:
    """Delete my review of a product (404 when I have none): its words go; the row stays, marked deleted,
    so the areas that follow reviews find it again however late they look. Commits."""
    product = await _product(session, handle)
    review = await _own(session, product.id, user_id)
    if review is None or review.status == ReviewStatus.deleted.value:
        raise NotFound("you have not reviewed this product")
    review.status = ReviewStatus.deleted.value
    review.title = review.body = review.moderation_note = ""
    review.updated_at = utcnow()
    _announce(session, review, review.status)
    await session.commit()


async def of_product(
    session: AsyncSession, handle: str, *, user_id: int | None, before: int | None, limit: int = PAGE
) -> ReviewPage:
    """Published reviews, newest first, with the count, average and spread of their ratings."""
    product = await _product(session, handle)
    published = (Review.product_id == product.id) & (Review.status == ReviewStatus.published.value)
    spread = {
        int(rating): int(count)
        for rating, count in await session.execute(
            select(Review.rating, func.count()).where(published).group_by(Review.rating)
        )
    }
    count = sum(spread.values())
    query = select(Review).where(published).order_by(Review.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(Review.id < before)
    rows = list(await session.scalars(query))
    mine, can_review = None, False
    if user_id is not None:
        own = await _own(session, product.id, user_id)
        mine = (
            _view(own, product.handle, own=True) if own and own.status != ReviewStatus.deleted.value else None
        )
        can_review = await buying_order(session, user_id, product.handle) is not None
    return ReviewPage(
        product_handle=product.handle,
        count=count,
        average=round(sum(r * n for r, n in spread.items()) / count, 1) if count else None,
        by_rating={r: spread.get(r, 0) for r in range(5, 0, -1)},
        reviews=[_view(r, product.handle) for r in rows[:limit]],
        next_before=rows[limit - 1].id if len(rows) > limit else None,
        mine=mine,
        can_review=can_review,
    )


async def staff_list(
    session: AsyncSession, *, status: ReviewStatus | None, before: int | None, limit: int = 50
) -> list[ReviewView]:
    query = (
        select(Review, Product.handle)
        .join(Product, Product.id == Review.product_id)
        .where(Review.status != ReviewStatus.deleted.value)
        .order_by(Review.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(Review.status == status.value)
    if before is not None:
        query = query.where(Review.id < before)
    return [_view(review, handle, staff=True) for review, handle in await session.execute(query)]


async def moderate(session: AsyncSession, review_id: int, status: ReviewStatus, *, note: str) -> ReviewView:
    """Hide a review (with the reason the author sees) or show it again. Commits."""
    review = await session.get(Review, review_id)
    if review is None or review.status == ReviewStatus.deleted.value:
        raise NotFound(f"no review {review_id}")
    handle = await session.scalar(select(Product.handle).where(Product.id == review.product_id))
    if review.status != status.value:
        review.status = status.value
        review.moderation_note = note.strip() if status is ReviewStatus.hidden else ""
        review.updated_at = utcnow()
        _announce(session, review, review.status)
    await session.commit()
    return _view(review, str(handle), staff=True)


async def export(session: AsyncSession, user_id: int) -> list[dict[str, object]]:
    rows = await session.execute(
        select(Review, Product.handle)
        .join(Product, Product.id == Review.product_id)
        .where(Review.user_id == user_id, Review.status != ReviewStatus.deleted.value)
    )
    return [msgspec.to_builtins(_view(review, handle, own=True)) for review, handle in rows]


async def erase(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(Review).where(Review.user_id == user_id))
