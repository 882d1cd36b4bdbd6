"""Loyalty and leaderboard jobs and sinks: orders settle into the ledger as they change, the clock releases
pending points and referrals and expires what is due, leaderboards follow the ledger, the orders, referrals
and flash sales, and are rebuilt from the database whenever their store lost them."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta
from typing import Any

from commerce.orders.events import OrderUpdated
from commerce.reviews import ReviewChanged
from engage import loyalty
from engage.leaderboards import Metric
from engage.loyalty.account import birthday_bonuses
from engage.loyalty.events import BalanceChanged, ReferralChanged
from engage.loyalty.orders import orders_to_sweep
from engage.loyalty.rules import load as load_rules
from engage.platform.clock import utcnow
from engage.platform.events import DomainEvent, Sink
from engage.services import Services

log = logging.getLogger("engage.loyalty")

# How far back the sweep looks for orders whose event a crash may have lost (it runs every 10 minutes).
SWEEP_BACK = timedelta(hours=2)


async def loyalty_clock(ctx: dict[str, Any]) -> None:
    """Pending points and referrals whose time came; expiry; birthdays (each idempotent)."""
    services: Services = ctx["services"]
    async with services.sessionmaker() as session:
        await loyalty.release_due(session)
        await loyalty.expire_due(session)
        await birthday_bonuses(session, await load_rules(session))


async def sweep_loyalty_orders(ctx: dict[str, Any]) -> None:
    """Settle recently changed orders and reviews again: the same result when nothing was missed."""
    services: Services = ctx["services"]
    async with services.sessionmaker() as session:
        since = utcnow() - SWEEP_BACK
        ids = await orders_to_sweep(session, since)
        reviewed = await loyalty.reviews_to_sweep(session, since)
        await session.commit()
        for order_id in ids:
            await loyalty.settle(session, order_id)
        for user_id, product_id in reviewed:
            await loyalty.settle_review(session, user_id, product_id)


async def check_loyalty_ledger(ctx: dict[str, Any]) -> None:
    """Every cached balance against the ledger; a difference is logged (and repaired by `engage` tooling)."""
    services: Services = ctx["services"]
    async with services.sessionmaker() as session:
        wrong = await loyalty.check_ledger(session)
    for mismatch in wrong:
        log.error("loyalty balance differs from its ledger: %s", mismatch)


async def rebuild_leaderboards(ctx: dict[str, Any]) -> None:
    """Boards whose standings the store lost (Redis wiped, an embedded restart) are rebuilt exactly."""
    services: Services = ctx["services"]
    rebuilt = await services.leaderboards.rebuild_missing()
    if rebuilt:
        log.warning("rebuilt %d leaderboards from the database", rebuilt)


async def rebuild_leaderboard(ctx: dict[str, Any], board_id: int) -> None:
    services: Services = ctx["services"]
    await services.leaderboards.rebuild(board_id)


def loyalty_sink(services: Services) -> Sink:
    """`order.updated` -> the order settled into the ledger; `review.changed` -> the review bonus (both
    re-read, never taken from the payload)."""
    sessionmaker = services.sessionmaker

    async def settle(events: list[DomainEvent]) -> None:
        order_ids = [int(e.data["order_id"]) for e in events if e.type == OrderUpdated.type]
        for order_id in dict.fromkeys(order_ids):
            async with sessionmaker() as session:
                try:
                    await loyalty.settle(session, order_id)
                except Exception:
                    await session.rollback()
                    log.exception("settling order %s into the ledger failed (the sweep retries)", order_id)
        reviewed = [
            (int(e.data["user_id"]), int(e.data["product_id"]))
            for e in events
            if e.type == ReviewChanged.type
        ]
        for user_id, product_id in dict.fromkeys(reviewed):
            async with sessionmaker() as session:
                try:
                    await loyalty.settle_review(session, user_id, product_id)
                except Exception:
                    await session.rollback()
                    log.exception("the review bonus of user %s failed (the sweep retries)", user_id)

    return settle


def _user_of(event: DomainEvent) -> int | None:
    for channel in event.channels:
        if channel.startswith("user:") and channel[5:].isdigit():
            return int(channel[5:])
    return None


def leaderboard_sink(services: Services) -> Sink:
    """Whose standings may have moved, per metric; the service recomputes them from the database."""

    async def follow(events: list[DomainEvent]) -> None:
        changes: dict[Metric, set[int]] = defaultdict(set)
        for event in events:
            if event.type == BalanceChanged.type and event.data.get("unit") == "points":
                changes[Metric.points_earned].add(int(event.data["user_id"]))
            elif event.type == ReferralChanged.type:
                changes[Metric.referrals_completed].add(int(event.data["referrer_id"]))
            elif event.type == OrderUpdated.type and (user_id := _user_of(event)) is not None:
                changes[Metric.category_spend].add(user_id)
                changes[Metric.flash_sale_purchases].add(user_id)
        if changes:
            await services.leaderboards.refresh(changes)

    return follow
