"""Pricing cart and checkout lines at the request's time, with the promotions hook.

A promotion is anything with `async def price(session, request) -> Sequence[Offer]`, registered in
`Services.promotions` (a list). It is asked on every pricing (cart view, checkout, payment), with
the moment of the request, the owner and the owner's active holds per line, so a flash sale can offer its
price for the units its claim holds and nothing once the sale has ended. The lowest offers win, each for at
most its `quantity` units; the remaining units keep the catalog price. Totals are computed here, on the
server only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce import inventory
from commerce.catalog.models import Product, Variant


@dataclass(frozen=True, slots=True)
class LineToPrice:
    variant_id: int
    product_handle: str
    sku: str
    quantity: int
    unit_price_cents: int  # the catalog price
    # sources of the owner's active holds on this variant, e.g. ("flash:12",)
    hold_sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PricingRequest:
    owner: str  # "user:5" / "guest:abc"
    user_id: int | None
    at: datetime  # the request's time: promotions decide by it
    lines: tuple[LineToPrice, ...]


@dataclass(frozen=True, slots=True)
class Offer:
    """`quantity` units of `variant_id` at `unit_price_cents`, shown as `label`."""

    variant_id: int
    unit_price_cents: int
    quantity: int
    label: str
    source: str = ""


class Promotion(Protocol):
    async def price(self, session: AsyncSession, request: PricingRequest) -> Sequence[Offer]: ...


class PricedLine(msgspec.Struct):
    variant_id: int
    product_handle: str
    name: str
    sku: str
    options: dict[str, str]
    quantity: int
    unit_price_cents: int
    line_total_cents: int
    discount_cents: int = 0
    discount_label: str = ""
    discounted_units: int = 0  # how many of the units an offer prices (the others keep the catalog price)
    weight_grams: int = 0
    available: int = 0  # for this owner: free stock plus what the owner's holds keep for them
    purchasable: bool = True  # published and not removed


@dataclass
class Pricing:
    lines: list[PricedLine] = field(default_factory=list)

    @property
    def subtotal_cents(self) -> int:
        return sum(line.unit_price_cents * line.quantity for line in self.lines)

    @property
    def discount_cents(self) -> int:
        return sum(line.discount_cents for line in self.lines)

    @property
    def goods_cents(self) -> int:
        return self.subtotal_cents - self.discount_cents

    @property
    def weight_grams(self) -> int:
        return sum(line.weight_grams * line.quantity for line in self.lines)


async def price_lines(
    session: AsyncSession,
    wanted: Sequence[tuple[int, int]],
    *,
    owner: str,
    user_id: int | None,
    at: datetime,
    promotions: Sequence[Promotion] = (),
) -> Pricing:
    """Price (variant_id, quantity) pairs for `owner` at time `at`."""
    ids = [variant_id for variant_id, _ in wanted]
    rows = {
        r.Variant.id: r
        for r in await session.execute(
            select(Variant, Product.handle, Product.name, Product.status)
            .join(Product, Product.id == Variant.product_id)
            .where(Variant.id.in_(ids))
        )
    }
    levels = await inventory.levels(session, ids)
    holds: dict[int, list[inventory.Hold]] = {}
    for hold in await inventory.holds_of(session, owner):
        holds.setdefault(hold.variant_id, []).append(hold)

    to_price = []
    for variant_id, quantity in wanted:
        row = rows.get(variant_id)
        if row is None:
            continue
        to_price.append(
            LineToPrice(
                variant_id=variant_id,
                product_handle=row.handle,
                sku=row.Variant.sku,
                quantity=quantity,
                unit_price_cents=row.Variant.price_cents,
                hold_sources=tuple(h.source for h in holds.get(variant_id, [])),
            )
        )
    request = PricingRequest(owner=owner, user_id=user_id, at=at, lines=tuple(to_price))
    offers: dict[int, list[Offer]] = {}
    for promotion in promotions:
        for offer in await promotion.price(session, request):
            offers.setdefault(offer.variant_id, []).append(offer)

    pricing = Pricing()
    for line in to_price:
        row = rows[line.variant_id]
        level = levels.get(line.variant_id)
        own_held = sum(h.quantity for h in holds.get(line.variant_id, []))
        available = (max(level.available, 0) if level else 0) + own_held
        discount, label, left, discounted = 0, "", line.quantity, 0
        for offer in sorted(offers.get(line.variant_id, []), key=lambda o: o.unit_price_cents):
            if left <= 0 or offer.unit_price_cents >= line.unit_price_cents or offer.quantity <= 0:
                continue
            units = min(left, offer.quantity)
            discount += (line.unit_price_cents - offer.unit_price_cents) * units
            label = label or offer.label
            left -= units
            discounted += units
        pricing.lines.append(
            PricedLine(
                variant_id=line.variant_id,
                product_handle=line.product_handle,
                name=row.name,
                sku=line.sku,
                options=dict(row.Variant.options or {}),
                quantity=line.quantity,
                unit_price_cents=line.unit_price_cents,
                line_total_cents=line.unit_price_cents * line.quantity - discount,
                discount_cents=discount,
                discount_label=label,
                discounted_units=discounted,
                weight_grams=row.Variant.weight_grams,
                available=available,
                purchasable=row.status == "published",
            )
        )
    return pricing
