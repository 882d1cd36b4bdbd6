"""Back-in-stock alerts: shoppers sign up for a sold-out variant; a restock sends them in waves sized to the
units (the earliest first), re-reading the stock before each wave, until it is sold out again.

Exactly once per alert: a wave takes its alerts with one UPDATE (waiting -> sending, marked with the wave's
id; on PostgreSQL with SKIP LOCKED, so racing workers take different ones), writes each push (unique per
alert and device in engage.push) and only then marks them notified. A wave that died leaves `sending` rows
that the reconciliation hands back to the next wave; their pushes are not written twice (push keys), a mail
may be (at most once more, and only for a crash between the mail and the commit).
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from commerce import inventory
from commerce.catalog import Product, Variant
from engage.alerts.models import AlertState, StockAlert
from engage.platform.clock import utcnow
from engage.platform.db import dialect_of
from engage.platform.errors import Conflict, InvalidInput, NotFound
from engage.platform.identity import Identity

STALE_SENDING = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class WavePolicy:
    factor: float  # signups notified per unit back in stock
    everyone: bool  # the merchant's "everyone at once"


class AlertView(msgspec.Struct):
    id: int
    variant_id: int
    product: str
    handle: str
    options: dict[str, str]
    state: str
    created_at: datetime
    notified_at: datetime | None


@dataclass(frozen=True, slots=True)
class Recipient:
    alert_id: int
    owner_key: str
    email: str


@dataclass(frozen=True, slots=True)
class VariantInfo:
    variant_id: int
    name: str  # "Parka, blue M"
    handle: str


async def _variant(session: AsyncSession, variant_id: int) -> tuple[Variant, Product]:
    row = (
        await session.execute(
            select(Variant, Product)
            .join(Product, Product.id == Variant.product_id)
            .where(Variant.id == variant_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"no variant {variant_id}", code="variant_not_found")
    return row[0], row[1]


async def variant_info(session: AsyncSession, variant_id: int) -> VariantInfo:
    variant, product = await _variant(session, variant_id)
    options = " ".join(str(v) for v in (variant.options or {}).values())
    return VariantInfo(variant_id, f"{product.name}, {options}" if options else product.name, product.handle)


async def sign_up(
    session: AsyncSession, ident: Identity, variant_id: int, email: str = ""
) -> tuple[AlertView, bool]:
    """The alert (and True when it is new). A guest gives an email; a second signup for the same variant
    and person is the same alert (a cancelled one waits again)."""
    await _variant(session, variant_id)
    level = await inventory.get_level(session, variant_id)
    if level is not None and level.available > 0:
        raise Conflict("this variant is in stock: it can be bought now", code="in_stock")
    email = email.strip().lower() or (ident.email or "")
    if ident.user_id is None and not email:
        raise InvalidInput("give an email to be told (or sign in)", field="email")
    owner = ident.owner_key
    existing = await session.scalar(
        select(StockAlert).where(StockAlert.variant_id == variant_id, StockAlert.owner_key == owner)
    )
    if existing is not None:
        if existing.state == AlertState.cancelled.value:
            existing.state, existing.created_at = AlertState.waiting.value, utcnow()
        if email:
            existing.email = email
        await session.commit()
        return await _view(session, existing), False
    alert = StockAlert(variant_id=variant_id, owner_key=owner, user_id=ident.user_id, email=email)
    session.add(alert)
    try:
        await session.commit()
    except IntegrityError:  # the same person twice at once: one alert
        await session.rollback()
        return await sign_up(session, ident, variant_id, email)
    return await _view(session, alert), True


async def _view(session: AsyncSession, alert: StockAlert) -> AlertView:
    variant, product = await _variant(session, alert.variant_id)
    return AlertView(
        alert.id, alert.variant_id, product.name, product.handle, dict(variant.options or {}), alert.state,
        alert.created_at, alert.notified_at,
    )  # fmt: skip


async def mine(session: AsyncSession, ident: Identity) -> list[AlertView]:
    rows = await session.scalars(
        select(StockAlert)
        .where(StockAlert.owner_key == ident.owner_key, StockAlert.state != AlertState.cancelled.value)
        .order_by(StockAlert.id.desc())
    )
    return [await _view(session, row) for row in rows]


async def remove(session: AsyncSession, ident: Identity, alert_id: int) -> None:
    alert = await session.get(StockAlert, alert_id)
    if alert is None or alert.owner_key != ident.owner_key:
        raise NotFound("no such alert", code="alert_not_found")
    alert.state = AlertState.cancelled.value
    await session.commit()


async def hand_over(session: AsyncSession, guest_id: str, user_id: int) -> None:
    """At sign-in, a guest's alerts become the account's (one per variant)."""
    guest, user = f"guest:{guest_id}", f"user:{user_id}"
    taken = select(StockAlert.variant_id).where(StockAlert.owner_key == user).scalar_subquery()
    await session.execute(
        update(StockAlert)
        .where(StockAlert.owner_key == guest, StockAlert.variant_id.not_in(taken))
        .values(owner_key=user, user_id=user_id)
        .execution_options(synchronize_session=False)
    )


# ---- waves ---------------------------------------------------------------------------------------------


async def opened(session: AsyncSession, alert_id: int) -> str:
    """An alert email's link was opened: the first time counts (`clicked_at`); where it goes on to (the
    variant, or the shop when the alert is gone). Commits."""
    alert = await session.get(StockAlert, alert_id, with_for_update=True)
    if alert is None:
        return "/"
    if alert.clicked_at is None:
        alert.clicked_at = utcnow()
    info = await variant_info(session, alert.variant_id)
    await session.commit()
    return f"/products/{info.handle}?variant={info.variant_id}"


def wave_size(available: int, waiting: int, policy: WavePolicy) -> int:
    if available <= 0:
        return 0
    if policy.everyone:
        return waiting
    return min(waiting, max(1, math.ceil(available * policy.factor)))


async def take_wave(
    session: AsyncSession, variant_id: int, policy: WavePolicy
) -> tuple[str, list[Recipient], int]:
    """Take the next wave of this variant's alerts (commits): (wave id, recipients, alerts still waiting).
    Nothing when the variant is not in stock."""
    level = await inventory.get_level(session, variant_id)
    available = level.available if level is not None else 0
    waiting = await _waiting(session, variant_id)
    size = wave_size(available, waiting, policy)
    if size == 0:
        await session.rollback()
        return "", [], waiting
    wave = f"{variant_id}:{secrets.token_hex(6)}"
    oldest = (
        select(StockAlert.id)
        .where(StockAlert.variant_id == variant_id, StockAlert.state == AlertState.waiting.value)
        .order_by(StockAlert.created_at, StockAlert.id)
        .limit(size)
    )
    if dialect_of(session) == "postgresql":
        oldest = oldest.with_for_update(skip_locked=True)
    # a CTE runs once: a LIMIT ... SKIP LOCKED subquery in the WHERE may run again per row, and take more
    picked = oldest.cte("picked")
    taken = await session.execute(
        update(StockAlert)
        .where(StockAlert.id == picked.c.id, StockAlert.state == AlertState.waiting.value)
        .values(state=AlertState.sending.value, wave=wave, taken_at=utcnow())
        .returning(StockAlert.id, StockAlert.owner_key, StockAlert.email)
        .execution_options(synchronize_session=False)
    )
    recipients = [Recipient(row.id, row.owner_key, row.email) for row in taken]
    await session.commit()
    return wave, recipients, waiting - len(recipients)


async def mark_notified(session: AsyncSession, wave: str, by_channel: dict[int, str]) -> None:
    now = utcnow()
    for alert_id, channel in by_channel.items():
        await session.execute(
            update(StockAlert)
            .where(
                StockAlert.id == alert_id,
                StockAlert.wave == wave,
                StockAlert.state == AlertState.sending.value,
            )
            .values(state=AlertState.notified.value, notified_at=now, channel=channel)
        )
    await session.commit()


async def waited_for(session: AsyncSession, variant_ids: set[int]) -> set[int]:
    """Those of these variants with alerts waiting."""
    rows = await session.scalars(
        select(StockAlert.variant_id)
        .where(StockAlert.variant_id.in_(sorted(variant_ids)), StockAlert.state == AlertState.waiting.value)
        .group_by(StockAlert.variant_id)
    )
    await session.rollback()
    return set(rows)


async def _waiting(session: AsyncSession, variant_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(StockAlert)
            .where(StockAlert.variant_id == variant_id, StockAlert.state == AlertState.waiting.value)
        )
        or 0
    )


async def to_reconcile(session: AsyncSession, now: datetime | None = None) -> list[int]:
    """Variants in stock with alerts nobody is sending: a restock whose event was lost, or a wave that died
    (its alerts, taken more than STALE_SENDING ago, wait again). Commits."""
    now = now or utcnow()
    await session.execute(
        update(StockAlert)
        .where(StockAlert.state == AlertState.sending.value, StockAlert.taken_at < now - STALE_SENDING)
        .values(state=AlertState.waiting.value, wave="", taken_at=None)
        .execution_options(synchronize_session=False)
    )
    variants = (
        await session.scalars(
            select(StockAlert.variant_id)
            .where(StockAlert.state == AlertState.waiting.value)
            .group_by(StockAlert.variant_id)
        )
    ).all()
    await session.commit()
    in_stock = []
    for variant_id in variants:
        level = await inventory.get_level(session, variant_id)
        if level is not None and level.available > 0:
            in_stock.append(variant_id)
    await session.rollback()
    return in_stock
