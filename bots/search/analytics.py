"""Search analytics: every query with its result count, the product clicked, and whether it sold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bots.search.models import SearchQuery
from bots.search.text import fold
from engage.platform.clock import local_days, utcnow
from engage.platform.db import rows_matched
from engage.platform.errors import InvalidInput, NotFound

CONVERSION_WINDOW = timedelta(hours=24)  # a purchase this soon after clicking a result counts for the search


def normalize(query: str) -> str:
    return " ".join(fold(query).split())[:200]


async def log_search(
    session: AsyncSession, query: str, result_count: int, owner_key: str | None, *, took_ms: int | None = None
) -> int:
    row = SearchQuery(
        query=query[:200],
        normalized=normalize(query),
        result_count=result_count,
        owner_key=owner_key,
        took_ms=took_ms,
    )
    session.add(row)
    await session.commit()
    return row.id


async def record_click(
    session: AsyncSession, search_id: int, handle: str, position: int | None, owner_key: str | None
) -> None:
    """The shopper who ran the search opened `handle` from its results (the first click counts)."""
    if position is not None and not 1 <= position <= 10_000:
        raise InvalidInput("position must be between 1 and 10000", field="position")
    row = await session.get(SearchQuery, search_id)
    if row is None or (row.owner_key is not None and row.owner_key != owner_key):
        raise NotFound("no such search")
    if row.clicked_handle is None:
        row.clicked_handle, row.clicked_position, row.clicked_at = handle[:64], position, utcnow()
        await session.commit()


async def record_conversion(
    session: AsyncSession, owner_key: str, handles: Sequence[str], order_ref: str
) -> int:
    """An order by `owner_key` containing `handles`: the searches whose click led there converted."""
    since = utcnow() - CONVERSION_WINDOW
    result = await session.execute(
        update(SearchQuery)
        .where(
            SearchQuery.owner_key == owner_key,
            SearchQuery.clicked_handle.in_(list(handles)),
            SearchQuery.clicked_at >= since,
            SearchQuery.converted_at.is_(None),
        )
        .values(converted_at=utcnow(), order_ref=order_ref[:64])
    )
    await session.commit()
    return rows_matched(result)


async def record_order_conversion(session: AsyncSession, order_id: int) -> int:
    """`record_conversion` for a paid order of commerce's: its buyer and the products in it. Commits."""
    from commerce.orders import Order, OrderLine

    order = await session.get(Order, order_id)
    if order is None:
        await session.commit()
        return 0
    handles = list(
        (await session.scalars(select(OrderLine.product_handle).where(OrderLine.order_id == order_id))).all()
    )
    owners = {order.owner_key} | ({f"user:{order.user_id}"} if order.user_id is not None else set())
    converted = 0
    for owner in sorted(owners):
        converted += await record_conversion(session, owner, handles, order.number)
    return converted


@dataclass
class SlowQuery:
    query: str
    took_ms: int  # the slowest time it took in the period
    searches: int


@dataclass
class QueryStat:
    query: str
    searches: int
    last_seen: str
    clicks: int = 0
    conversions: int = 0


async def zero_result_queries(session: AsyncSession, days: int = 30, limit: int = 50) -> list[QueryStat]:
    """What shoppers looked for and the catalog did not have, most asked first (for merchandising)."""
    since = utcnow() - timedelta(days=days)
    rows = await session.execute(
        select(SearchQuery.normalized, func.count(), func.max(SearchQuery.created_at))
        .where(SearchQuery.result_count == 0, SearchQuery.created_at >= since)
        .group_by(SearchQuery.normalized)
        .order_by(func.count().desc(), SearchQuery.normalized)
        .limit(limit)
    )
    return [QueryStat(q, n, last.isoformat()) for q, n, last in rows]


async def summary(
    session: AsyncSession,
    days: int = 30,
    limit: int = 20,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, object]:
    """The last `days` days, or the period [since, until)."""
    since = since or utcnow() - timedelta(days=days)
    recent = SearchQuery.created_at >= since
    if until is not None:
        recent = and_(recent, SearchQuery.created_at < until)
        days = max((until - since).days, 1)
    clicked = func.sum(case((SearchQuery.clicked_handle.is_not(None), 1), else_=0)).cast(Integer)
    converted = func.sum(case((SearchQuery.converted_at.is_not(None), 1), else_=0)).cast(Integer)
    zero = func.sum(case((SearchQuery.result_count == 0, 1), else_=0)).cast(Integer)
    total, clicks, conversions, zeros = (
        await session.execute(select(func.count(), clicked, converted, zero).where(recent))
    ).one()
    top = await session.execute(
        select(SearchQuery.normalized, func.count(), func.max(SearchQuery.created_at), clicked, converted)
        .where(and_(recent, SearchQuery.result_count > 0))
        .group_by(SearchQuery.normalized)
        .order_by(func.count().desc(), SearchQuery.normalized)
        .limit(limit)
    )
    slowest = await session.execute(
        select(SearchQuery.normalized, func.max(SearchQuery.took_ms), func.count())
        .where(recent, SearchQuery.took_ms.is_not(None))
        .group_by(SearchQuery.normalized)
        .order_by(func.max(SearchQuery.took_ms).desc(), SearchQuery.normalized)
        .limit(10)
    )
    total = total or 0

    def rate(n: int | None) -> float:
        return round((n or 0) / total, 4) if total else 0.0

    return {
        "days": days,
        "searches": total,
        "zero_result_rate": rate(zeros),
        "click_through_rate": rate(clicks),
        "conversion_rate": rate(conversions),
        "top_queries": [QueryStat(q, n, last.isoformat(), c or 0, v or 0) for q, n, last, c, v in top],
        "slowest_queries": [SlowQuery(q, int(ms or 0), n) for q, ms, n in slowest],
    }


async def figures(
    session: AsyncSession, *, days: int, start: date | None, end: date | None, timezone: str
) -> dict[str, object]:
    """The last `days` days, or the days `start`..`end` (inclusive, both given, at most 366) of the shop's
    time zone."""
    if start is None and end is None:
        return await summary(session, days)
    if start is None or end is None:
        raise InvalidInput("give both `from` and `to`", field="from" if start is None else "to")
    if end < start or (end - start).days >= 366:
        raise InvalidInput("`to` is on or after `from`, at most 366 days later", field="to")
    since, until = local_days(start, end, ZoneInfo(timezone))
    return await summary(session, since=since, until=until)
