"""Marketing's side: create, edit, publish (schedule) and cancel flash sales, with the rules that keep a
sale honest (a sale price below the regular one, units the shop has, one sale per variant at a time)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce import inventory
from commerce.catalog.models import Product, Variant
from engage.flash_sales.claims import forget_sale, load_gate, source_of
from engage.flash_sales.events import SaleCancelled, SaleChanged
from engage.flash_sales.gate import ClaimGate
from engage.flash_sales.models import ClaimStatus, FlashClaim, FlashSale, FlashSaleItem, SaleStatus
from engage.flash_sales.timeline import Phase, announce, overlapping, phase_of, sale_view
from engage.platform import changes
from engage.platform.clock import as_utc, utcnow
from engage.platform.db import dialect_of
from engage.platform.errors import Conflict, InvalidInput, NotFound
from engage.platform.identity import Identity

MAX_ITEMS = 50
MAX_DURATION = timedelta(days=14)
MAX_LIMIT = 100


_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$", "aud": "A$"}
_NO_MINOR_UNITS = {"jpy", "krw", "vnd", "clp", "isk"}


def money_text(minor: int, currency: str) -> str:
    """An amount in minor units as people read it in `currency`: 29900 usd -> "$299.00"."""
    code = currency.lower()
    amount = f"{minor:,}" if code in _NO_MINOR_UNITS else f"{minor / 100:,.2f}"
    symbol = _SYMBOLS.get(code)
    return f"{symbol}{amount}" if symbol else f"{amount} {code.upper()}"


@dataclass(frozen=True, slots=True)
class ItemPlan:
    """A variant (by id or SKU), its sale price and the units allotted to the sale."""

    sale_price_cents: int
    units: int
    variant_id: int | None = None
    sku: str | None = None


@dataclass(frozen=True, slots=True)
class SalePlan:
    name: str
    starts_at: datetime
    ends_at: datetime
    per_customer_limit: int
    items: Sequence[ItemPlan]


async def _variants(session: AsyncSession, items: Sequence[ItemPlan]) -> dict[int, ItemPlan]:
    by_sku = [i.sku for i in items if i.variant_id is None and i.sku]
    skus = {}
    if by_sku:
        skus = {
            r.sku: r.id
            for r in await session.execute(select(Variant.id, Variant.sku).where(Variant.sku.in_(by_sku)))
        }
    resolved: dict[int, ItemPlan] = {}
    for n, item in enumerate(items):
        variant_id = item.variant_id if item.variant_id is not None else skus.get(item.sku or "")
        if variant_id is None and not item.sku:
            raise InvalidInput(f"item {n + 1}: give a variant_id or a sku", field=f"items.{n}")
        if variant_id is None:
            raise InvalidInput(f"item {n + 1}: no variant with SKU {item.sku!r}", field=f"items.{n}")
        if variant_id in resolved:
            raise InvalidInput(f"item {n + 1}: that variant is already in the sale", field=f"items.{n}")
        resolved[variant_id] = item
    return resolved


async def _check(
    session: AsyncSession, plan: SalePlan, sale_id: int | None, currency: str
) -> dict[int, ItemPlan]:
    name = " ".join(plan.name.split())
    if not 1 <= len(name) <= 120:
        raise InvalidInput("a sale needs a name of up to 120 characters", field="name")
    starts_at, ends_at = as_utc(plan.starts_at), as_utc(plan.ends_at)
    if ends_at <= starts_at:
        raise InvalidInput("a sale ends after it starts", field="ends_at")
    if ends_at - starts_at > MAX_DURATION:
        raise InvalidInput(f"a flash sale lasts at most {MAX_DURATION.days} days", field="ends_at")
    if not 1 <= plan.per_customer_limit <= MAX_LIMIT:
        raise InvalidInput(f"the per-customer limit is 1 to {MAX_LIMIT}", field="per_customer_limit")
    if not 1 <= len(plan.items) <= MAX_ITEMS:
        raise InvalidInput(f"a sale has 1 to {MAX_ITEMS} items", field="items")
    items = await _variants(session, plan.items)
    rows = {
        r.id: r
        for r in await session.execute(
            select(Variant.id, Variant.sku, Variant.price_cents, Product.status)
            .join(Product, Product.id == Variant.product_id)
            .where(Variant.id.in_(list(items)))
        )
    }
    stock = await inventory.levels(session, list(items))
    for n, (variant_id, item) in enumerate(items.items()):
        row = rows.get(variant_id)
        if row is None or row.status != "published":
            raise InvalidInput(f"item {n + 1}: no published variant {variant_id}", field=f"items.{n}")
        if not 0 < item.sale_price_cents < row.price_cents:
            raise InvalidInput(
                f"item {n + 1} ({row.sku}): the sale price must be below the regular price of "
                f"{money_text(row.price_cents, currency)}",
                field=f"items.{n}.sale_price_cents",
            )
        level = stock.get(variant_id)
        if item.units < 1 or level is None or item.units > max(level.on_hand, 0):
            have = level.on_hand if level else 0
            raise InvalidInput(
                f"item {n + 1} ({row.sku}): allot 1 to {have} units (what the shop has)",
                field=f"items.{n}.units",
            )
    clash = await session.scalar(
        select(FlashSale.id)
        .join(FlashSaleItem, FlashSaleItem.sale_id == FlashSale.id)
        .where(overlapping(starts_at, ends_at), FlashSaleItem.variant_id.in_(list(items)))
        .where(FlashSale.id != (sale_id or 0))
        .limit(1)
    )
    if clash is not None:
        raise Conflict(
            f"flash sale #{clash} already sells one of these variants at that time", code="overlap"
        )
    return items


async def create(
    session: AsyncSession, author: Identity, plan: SalePlan, *, publish: bool, currency: str = "usd"
) -> FlashSale:
    """`currency`: the shop's, for the amounts in messages."""
    items = await _check(session, plan, None, currency)
    if publish and as_utc(plan.ends_at) <= utcnow():
        raise InvalidInput("this sale would be over already", field="ends_at")
    sale = FlashSale(
        name=" ".join(plan.name.split()),
        status=(SaleStatus.scheduled if publish else SaleStatus.draft).value,
        starts_at=as_utc(plan.starts_at),
        ends_at=as_utc(plan.ends_at),
        per_customer_limit=plan.per_customer_limit,
        created_by=author.user_id,
        items=[
            FlashSaleItem(variant_id=vid, sale_price_cents=i.sale_price_cents, units_allotted=i.units)
            for vid, i in items.items()
        ],
    )
    session.add(sale)
    await session.flush()
    if publish:
        view = await sale_view(session, sale.id)
        assert view is not None
        announce(session, SaleChanged, view)
    await session.commit()
    return sale


async def find(session: AsyncSession, sale_id: int) -> FlashSale | None:
    return await session.get(FlashSale, sale_id)


async def _get(session: AsyncSession, sale_id: int, *, lock: bool = False) -> FlashSale:
    query = select(FlashSale).where(FlashSale.id == sale_id)
    if lock and dialect_of(session) == "postgresql":
        # NO KEY UPDATE: claims insert rows that refer to the sale (a key share) while it is held; a full
        # FOR UPDATE would make a claim holding an item row and an edit waiting for it deadlock
        query = query.with_for_update(key_share=True)
    sale = (await session.scalars(query)).one_or_none()
    if sale is None:
        raise NotFound(f"no flash sale #{sale_id}")
    if lock:  # locked to be changed: what it was, for the audit trail
        changes.before(
            "flash sale",
            sale.id,
            {
                "name": sale.name,
                "status": sale.status,
                "starts_at": sale.starts_at,
                "ends_at": sale.ends_at,
                "per_customer_limit": sale.per_customer_limit,
            },
        )
    return sale


async def update(
    session: AsyncSession,
    sale_id: int,
    plan: SalePlan,
    *,
    gate: ClaimGate | None = None,
    currency: str = "usd",
) -> FlashSale:
    """Before the start everything may change; while live only the name, the end and the units (never
    below what is already claimed); after the end or a cancellation nothing. With `gate`, the claim gate's
    counters follow the new units."""
    sale = await _get(session, sale_id, lock=True)
    phase = phase_of(sale.status, sale.starts_at, sale.ends_at)
    if phase in (Phase.ended, Phase.cancelled):
        raise Conflict(f"this sale is {phase.value}: it cannot change", code="sale_closed")
    items = await _check(session, plan, sale.id, currency)
    rows = select(FlashSaleItem).where(FlashSaleItem.sale_id == sale.id)
    if dialect_of(session) == "postgresql":  # claims wait: units never drop below what they took
        rows = rows.with_for_update()
    current = {i.variant_id: i for i in (await session.scalars(rows)).all()}
    if phase is Phase.live:
        if as_utc(plan.starts_at) != sale.starts_at or as_utc(plan.ends_at) <= utcnow():
            raise Conflict("a live sale keeps its start and ends in the future", code="sale_live")
        if (
            set(items) != set(current)
            or plan.per_customer_limit != sale.per_customer_limit
            or any(items[v].sale_price_cents != current[v].sale_price_cents for v in items)
        ):
            raise Conflict("a live sale keeps its items, prices and limit", code="sale_live")
    for variant_id, item in items.items():
        row = current.pop(variant_id, None)
        if row is None:
            session.add(
                FlashSaleItem(
                    sale_id=sale.id,
                    variant_id=variant_id,
                    sale_price_cents=item.sale_price_cents,
                    units_allotted=item.units,
                )
            )
            continue
        if item.units < row.units_claimed:
            raise Conflict(
                f"{row.units_claimed} units of variant {variant_id} are already claimed", code="claimed"
            )
        row.sale_price_cents, row.units_allotted = item.sale_price_cents, item.units
    for gone in current.values():
        if gone.claims_total:
            raise Conflict(
                f"variant {gone.variant_id} was already claimed: it stays in the sale", code="claimed"
            )
        await session.delete(gone)
    sale.name = " ".join(plan.name.split())
    sale.starts_at, sale.ends_at = as_utc(plan.starts_at), as_utc(plan.ends_at)
    sale.per_customer_limit = plan.per_customer_limit
    if sale.starts_at > utcnow():
        sale.announced_start = False
    sale.announced_end = False
    await session.flush()
    if sale.status == SaleStatus.scheduled.value:
        view = await sale_view(session, sale.id)
        assert view is not None
        announce(session, SaleChanged, view)
    await session.commit()
    forget_sale(sale_id)
    if gate is not None:
        await load_gate(session, gate, sale_id, overwrite=True)
        await session.refresh(sale)
    return sale


async def publish(session: AsyncSession, sale_id: int, *, currency: str = "usd") -> FlashSale:
    sale = await _get(session, sale_id, lock=True)
    if sale.status != SaleStatus.draft.value:
        raise Conflict(f"sale #{sale_id} is {sale.status}, not a draft", code="not_draft")
    if sale.ends_at <= utcnow():
        raise InvalidInput("this sale would be over already", field="ends_at")
    plan_items = (await session.scalars(select(FlashSaleItem).where(FlashSaleItem.sale_id == sale.id))).all()
    await _check(
        session,
        SalePlan(
            sale.name,
            sale.starts_at,
            sale.ends_at,
            sale.per_customer_limit,
            [ItemPlan(i.sale_price_cents, i.units_allotted, variant_id=i.variant_id) for i in plan_items],
        ),
        sale.id,
        currency,
    )
    sale.status = SaleStatus.scheduled.value
    await session.flush()
    view = await sale_view(session, sale.id)
    assert view is not None
    announce(session, SaleChanged, view)
    await session.commit()
    forget_sale(sale_id)
    return sale


async def cancel(session: AsyncSession, sale_id: int) -> FlashSale:
    """Stop a sale now: its price is gone at once and the units its shoppers hold go back to the shop."""
    sale = await _get(session, sale_id, lock=True)
    phase = phase_of(sale.status, sale.starts_at, sale.ends_at)
    if phase in (Phase.ended, Phase.cancelled):
        raise Conflict(f"this sale is {phase.value} already", code="sale_closed")
    if phase is Phase.draft:  # cancelled, it would become public: a draft stays marketing's own
        raise Conflict(
            "this sale is a draft: it was never published, so there is nothing to cancel", code="draft"
        )
    sale.status = SaleStatus.cancelled.value
    sale.cancelled_at = utcnow()
    held = (
        await session.scalars(
            select(FlashClaim.reservation_id).where(
                FlashClaim.sale_id == sale.id, FlashClaim.status == ClaimStatus.held.value
            )
        )
    ).all()
    for reservation_id in sorted(held):  # in id order, like every multi-hold change
        await inventory.release(session, reservation_id, reason=f"cancelled ({source_of(sale.id)})")
    await session.flush()
    view = await sale_view(session, sale.id)
    assert view is not None
    announce(session, SaleCancelled, view)
    await session.commit()
    forget_sale(sale_id)
    return sale


async def all_sales(session: AsyncSession) -> list[FlashSale]:
    return list((await session.scalars(select(FlashSale).order_by(FlashSale.starts_at.desc()))).all())
