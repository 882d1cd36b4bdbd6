"""Audiences: rules over live commerce data, compiled to one SQL condition over the push subscriptions.

A segment is `{"include": [rules], "match": "all" | "any", "exclude": [rules]}`: a device is in it when its
owner matches the include rules (all of them, or any) and none of the exclude rules. Rules look at the
owner (`user:{id}` or `guest:{id}`), so guests match the rules on orders and carts too (their orders carry
their owner key), never the ones on accounts (signed_up). A campaign's audience is always narrowed to owners
who opted in to its topic and did not unsubscribe from marketing, and to subscriptions made with the current
server key. Saved segments (`push_segments`) can be referenced by other segments.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from sqlalchemy import and_, delete, false, func, literal, not_, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from commerce.cart.models import Cart, CartLine
from commerce.catalog.models import Category, Product, Variant
from commerce.orders.models import Order, OrderLine, OrderStatus
from engage.auth import User
from engage.platform.clock import utcnow
from engage.platform.errors import Conflict, InvalidInput, NotFound
from engage.push import preferences
from engage.push.models import NotificationPreferences, PushCampaign, PushSegment, PushSubscription

Days = Annotated[int, msgspec.Meta(ge=1, le=3650)]
MAX_RULES = 20
MAX_DEPTH = 3
# orders that count as "ordered" and towards "spent": everything paid for, refunded ones included
ORDERED_STATUSES = tuple(
    s.value for s in OrderStatus if s not in (OrderStatus.pending_payment, OrderStatus.cancelled)
)


class _Rule(msgspec.Struct, tag_field="type", forbid_unknown_fields=True, frozen=True):
    pass


class Ordered(_Rule, tag="ordered", frozen=True):
    """Placed an order (paid) in the last `within_days` days."""

    within_days: Days


class NeverOrdered(_Rule, tag="never_ordered", frozen=True):
    """Never placed a paid order."""


class TotalSpent(_Rule, tag="total_spent", frozen=True):
    """Paid orders, minus refunds, add up to at least `min_cents` (and at most `max_cents`), minor units."""

    min_cents: Annotated[int, msgspec.Meta(ge=0, le=10**12)] = 0
    max_cents: Annotated[int, msgspec.Meta(ge=0, le=10**12)] | None = None


class BoughtCategory(_Rule, tag="bought_category", frozen=True):
    """Bought a product of the category (its slug) or of one below it, optionally in the last N days."""

    category: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    within_days: Days | None = None


class AbandonedCart(_Rule, tag="abandoned_cart", frozen=True):
    """Has items in the cart and added none for `idle_hours`."""

    idle_hours: Annotated[int, msgspec.Meta(ge=1, le=24 * 365)] = 24


class SignedUp(_Rule, tag="signed_up", frozen=True):
    """Has an account made in the last `within_days` days."""

    within_days: Days


class OptedIn(_Rule, tag="opted_in", frozen=True):
    """Has `topic` on for `channel`."""

    topic: str
    channel: Literal["push", "email"] = "push"


class HasDevice(_Rule, tag="has_device", frozen=True):
    """Has at least `min_devices` push subscriptions (every push audience member has one)."""

    min_devices: Annotated[int, msgspec.Meta(ge=1, le=100)] = 1


class InTimeZone(_Rule, tag="time_zone", frozen=True):
    """The shopper's time zone is one of `zones`; an entry ending in "/" is a region ("Europe/")."""

    zones: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]],
        msgspec.Meta(min_length=1, max_length=50),
    ]


class InSegment(_Rule, tag="segment", frozen=True):
    """Matches the saved segment `id`."""

    id: int


Rule = (
    Ordered
    | NeverOrdered
    | TotalSpent
    | BoughtCategory
    | AbandonedCart
    | SignedUp
    | OptedIn
    | HasDevice
    | InTimeZone
    | InSegment
)


class Segment(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    include: Annotated[list[Rule], msgspec.Meta(max_length=MAX_RULES)] = []
    match: Literal["all", "any"] = "all"
    exclude: Annotated[list[Rule], msgspec.Meta(max_length=MAX_RULES)] = []


def parse(data: Any) -> Segment:
    """A segment from JSON-ready data (stored or given); InvalidInput names what is wrong."""
    if data is None:
        return Segment()
    try:
        return msgspec.convert(data, Segment)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"segment: {exc}", code="bad_segment", field="segment") from None


def to_data(segment: Segment) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(segment)
    return data


# ---- compiling ------------------------------------------------------------------------------------------


class _Compiler:
    def __init__(self, session: AsyncSession, now: datetime, default_timezone: str) -> None:
        self.session = session
        self.now = now
        self.default_timezone = default_timezone
        self._tree: dict[int, list[int]] | None = None
        self._slugs: dict[str, int] = {}

    async def segment(self, segment: Segment, seen: frozenset[int] = frozenset()) -> ColumnElement[bool]:
        parts = [await self.rule(r, seen) for r in segment.include]
        if not parts:
            included: ColumnElement[bool] = true()
        else:
            included = and_(*parts) if segment.match == "all" else or_(*parts)
        excluded = [await self.rule(r, seen) for r in segment.exclude]
        return and_(included, *(not_(e) for e in excluded)) if excluded else included

    async def rule(self, rule: Rule, seen: frozenset[int]) -> ColumnElement[bool]:
        owner = PushSubscription.owner_key
        ordered = and_(Order.owner_key == owner, Order.status.in_(ORDERED_STATUSES))
        match rule:
            case Ordered(within_days=days):
                since = self.now - timedelta(days=days)
                return select(Order.id).where(ordered, Order.created_at >= since).exists()
            case NeverOrdered():
                return not_(select(Order.id).where(ordered).exists())
            case TotalSpent(min_cents=low, max_cents=high):
                spent = (
                    select(func.coalesce(func.sum(Order.total_cents - Order.refunded_cents), 0))
                    .where(ordered)
                    .scalar_subquery()
                )
                return and_(spent >= low, spent <= high) if high is not None else spent >= low
            case BoughtCategory(category=slug, within_days=days):
                categories = await self._subtree(slug)
                query = (
                    select(OrderLine.id)
                    .join(Order, Order.id == OrderLine.order_id)
                    .join(Variant, Variant.id == OrderLine.variant_id)
                    .join(Product, Product.id == Variant.product_id)
                    .where(ordered, Product.category_id.in_(categories))
                )
                if days is not None:
                    query = query.where(Order.created_at >= self.now - timedelta(days=days))
                return query.exists()
            case AbandonedCart(idle_hours=hours):
                cutoff = self.now - timedelta(hours=hours)
                lines = (
                    select(CartLine.id).join(Cart, Cart.id == CartLine.cart_id).where(Cart.owner_key == owner)
                )
                return and_(lines.exists(), not_(lines.where(CartLine.added_at > cutoff).exists()))
            case SignedUp(within_days=days):
                since = self.now - timedelta(days=days)
                return PushSubscription.user_id.in_(select(User.id).where(User.created_at >= since))
            case OptedIn(topic=topic, channel=channel):
                return preferences.column(topic, channel).is_(True)
            case HasDevice(min_devices=n):
                if n <= 1:
                    return true()
                other = PushSubscription.__table__.alias("devices")
                count = (
                    select(func.count())
                    .select_from(other)
                    .where(other.c.owner_key == owner)
                    .scalar_subquery()
                )
                return count >= n
            case InTimeZone(zones=zones):
                tz = func.coalesce(NotificationPreferences.timezone, literal(self.default_timezone))
                exact = [z for z in zones if not z.endswith("/")]
                regions = [z for z in zones if z.endswith("/")]
                for z in exact:
                    preferences.check_zone(z)
                conditions: list[ColumnElement[bool]] = [tz.in_(exact)] if exact else []
                conditions += [tz.startswith(region, autoescape=True) for region in regions]
                return or_(*conditions) if conditions else false()
            case InSegment(id=segment_id):
                if segment_id in seen or len(seen) >= MAX_DEPTH:
                    raise InvalidInput(
                        "segments nest at most 3 deep and never in a circle",
                        code="bad_segment",
                        field="segment",
                    )
                saved = await self.session.get(PushSegment, segment_id)
                if saved is None:
                    raise InvalidInput(
                        f"no saved segment #{segment_id}", code="unknown_segment", field="segment"
                    )
                return await self.segment(parse(saved.rules), seen | {segment_id})
        raise InvalidInput(f"unknown rule {rule!r}", code="bad_segment", field="segment")  # pragma: no cover

    async def _subtree(self, slug: str) -> list[int]:
        if self._tree is None:
            rows = (await self.session.execute(select(Category.id, Category.parent_id, Category.slug))).all()
            self._tree = {}
            for cid, parent, cslug in rows:
                self._slugs[cslug] = cid
                if parent is not None:
                    self._tree.setdefault(parent, []).append(cid)
        root = self._slugs.get(slug)
        if root is None:
            raise InvalidInput(f"no category {slug!r}", code="unknown_category", field="segment")
        found, stack = [], [root]
        while stack:
            cid = stack.pop()
            found.append(cid)
            stack.extend(self._tree.get(cid, []))
        return found


async def condition(
    session: AsyncSession,
    segment: Segment,
    *,
    saved_id: int | None = None,
    now: datetime | None = None,
    default_timezone: str = "UTC",
) -> ColumnElement[bool]:
    """The SQL condition (over push_subscriptions joined to notification_preferences) of a segment, and of
    a saved segment too when `saved_id` is given (both must match)."""
    compiler = _Compiler(session, now or utcnow(), default_timezone)
    compiled = await compiler.segment(segment)
    if saved_id is not None:
        compiled = and_(compiled, await compiler.rule(InSegment(id=saved_id), frozenset()))
    return compiled


def reachable(topic: str, vapid_key: str) -> ColumnElement[bool]:
    """Who a campaign of `topic` may reach at all: opted in (push), not unsubscribed from marketing, and
    subscribed with the current server key."""
    return and_(
        PushSubscription.vapid_key == vapid_key,
        preferences.column(topic, "push").is_(True),
        NotificationPreferences.marketing_unsubscribed.is_(False),
    )


def audience(topic: str, vapid_key: str, where: ColumnElement[bool]) -> Any:
    """SELECT of the audience's devices (id, owner key, user id, time zone), for keyset pages by id."""
    return (
        select(
            PushSubscription.id,
            PushSubscription.owner_key,
            PushSubscription.user_id,
            NotificationPreferences.timezone,
        )
        .join(NotificationPreferences, NotificationPreferences.owner_key == PushSubscription.owner_key)
        .where(reachable(topic, vapid_key), where)
        .order_by(PushSubscription.id)
    )


async def count(
    session: AsyncSession,
    segment: Segment,
    *,
    topic: str,
    vapid_key: str,
    saved_id: int | None = None,
    default_timezone: str = "UTC",
) -> dict[str, int]:
    """Reachable devices and people of a segment now (the live count while a campaign is built)."""
    where = await condition(session, segment, saved_id=saved_id, default_timezone=default_timezone)
    query = (
        select(func.count(), func.count(func.distinct(PushSubscription.owner_key)))
        .select_from(PushSubscription)
        .join(NotificationPreferences, NotificationPreferences.owner_key == PushSubscription.owner_key)
        .where(reachable(topic, vapid_key), where)
    )
    devices, people = (await session.execute(query)).one()
    return {"devices": int(devices), "people": int(people)}


# ---- saved segments -------------------------------------------------------------------------------------


def segment_view(row: PushSegment) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "rules": row.rules,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


async def _validated(session: AsyncSession, segment: Segment, own_id: int | None = None) -> dict[str, Any]:
    compiler = _Compiler(session, utcnow(), "UTC")
    seen = frozenset({own_id}) if own_id is not None else frozenset()
    await compiler.segment(segment, seen)  # unknown categories, saved segments, circles: 422 now
    return to_data(segment)


async def save(session: AsyncSession, name: str, segment: Segment, *, user_id: int | None) -> PushSegment:
    row = PushSegment(name=name.strip(), rules=await _validated(session, segment), created_by=user_id)
    session.add(row)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict("a segment with this name exists", code="segment_exists", field="name") from None
    return row


async def change(session: AsyncSession, segment_id: int, name: str, segment: Segment) -> PushSegment:
    row = await session.get(PushSegment, segment_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no segment #{segment_id}", code="segment_not_found")
    row.rules = await _validated(session, segment, segment_id)
    row.name = name.strip()
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict("a segment with this name exists", code="segment_exists", field="name") from None
    return row


async def get_saved(session: AsyncSession, segment_id: int) -> PushSegment:
    row = await session.get(PushSegment, segment_id)
    if row is None:
        raise NotFound(f"no segment #{segment_id}", code="segment_not_found")
    return row


async def all_saved(session: AsyncSession) -> list[PushSegment]:
    return list(await session.scalars(select(PushSegment).order_by(PushSegment.name)))


async def remove(session: AsyncSession, segment_id: int) -> None:
    in_use = await session.scalar(
        select(PushCampaign.id).where(PushCampaign.segment_id == segment_id).limit(1)
    )
    if in_use is not None:
        raise Conflict(f"campaign #{in_use} uses this segment", code="segment_in_use")
    deleted = await session.scalar(
        delete(PushSegment).where(PushSegment.id == segment_id).returning(PushSegment.id)
    )
    await session.commit()
    if deleted is None:
        raise NotFound(f"no segment #{segment_id}", code="segment_not_found")
