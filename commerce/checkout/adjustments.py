"""Adjustments a checkout may apply: the port through which other areas take part of a checkout's total
(loyalty points as a discount line, store credit as a tender before the card) without commerce knowing them.

An adjustment is anything with a `source` name, a `kind` ("discount": off the price before tax, so the tax
is on what is left; "tender": money the shopper holds, spent after tax like a card) and

- `async quote(session, request: AdjustmentRequest) -> AdjustmentLine | None`: asked every time a checkout
  is totalled (start, view, change, and inside the pay transaction), with what is still due after the
  adjustments before it (discounts before tax, tenders after). The line's amount is clamped to what is
  due: the server computes every line, nothing the client sends is trusted.
- `async commit(session, order: PlacedOrder, line: AdjustmentLine | None) -> None`: inside the pay
  transaction, with the checkout row locked, right after the order is placed: make the line binding for this
  order (spend the points, use the credit), idempotently per order; `None` undoes what an earlier attempt
  of the same order took. Raise a `Conflict` when it can no longer be honoured: the transaction rolls back
  and nothing is charged.

They are registered in `Services.adjustments` by the wiring; `ShopPolicy.adjustments` carries the same list
into every checkout and payment step. The order keeps the lines (`order_adjustments`), and its `total_cents`
(what the payment provider is charged) is what is left after them; nothing left is paid without a card
(commerce.payments.uncharged). Reversal needs no hook: the areas follow
commerce's `order.updated` (cancelled, refunded, partially refunded) and re-read the order and its
adjustments, so a refund converges however often and in whatever order events arrive.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import msgspec
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.checkout.models import Checkout
from commerce.orders.models import Order, OrderAdjustment

AdjustmentKind = Literal["discount", "tender"]


class AdjustmentLine(msgspec.Struct, frozen=True):
    """A part of the total taken by an adjustment, in minor units (positive: taken off what is due).
    `kind` "discount" (loyalty points) or "tender" (store credit: money the shopper holds)."""

    source: str
    kind: AdjustmentKind
    label: str
    amount_cents: int
    data: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class AdjustmentRequest:
    checkout_id: str
    owner: str
    user_id: int | None
    currency: str
    goods_cents: int  # the lines after offers, before shipping and tax
    shipping_cents: int
    tax_cents: int  # 0 while discounts are asked: the tax is computed on what they leave
    due_cents: int  # what is still due after the adjustments asked before this one (before tax for discounts)
    lines: tuple[dict[str, Any], ...] = field(default=())


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order_id: int
    number: str
    checkout_id: str
    owner: str
    user_id: int | None
    currency: str


class CheckoutAdjustment(Protocol):
    source: str
    kind: AdjustmentKind  # discounts come off before tax, tenders after

    async def quote(self, session: AsyncSession, request: AdjustmentRequest) -> AdjustmentLine | None: ...

    async def commit(
        self, session: AsyncSession, order: PlacedOrder, line: AdjustmentLine | None
    ) -> None: ...


async def apply(
    session: AsyncSession,
    checkout: Checkout,
    adjustments: Sequence[CheckoutAdjustment],
    *,
    tax_on: Callable[[int], int],
) -> None:
    """After the goods and shipping: discounts first, each on what is due before tax; then the tax on what
    the discounts left (`tax_on`: taxable minor units -> tax); then tenders on the rest, tax included. The
    checkout keeps the lines, its `tax_cents`, and as `total_cents` what the card is charged. Does not
    commit."""
    goods = checkout.subtotal_cents - checkout.discount_cents
    lines: list[dict[str, Any]] = []
    due = goods + checkout.shipping_cents
    for adjustment in adjustments:
        if adjustment.kind == "discount":
            due -= await _take(session, checkout, adjustment, goods, due, 0, lines)
    checkout.tax_cents = tax_on(due)
    due += checkout.tax_cents
    for adjustment in adjustments:
        if adjustment.kind == "tender":
            due -= await _take(session, checkout, adjustment, goods, due, checkout.tax_cents, lines)
    checkout.adjustments = lines
    checkout.total_cents = due


async def _take(
    session: AsyncSession,
    checkout: Checkout,
    adjustment: CheckoutAdjustment,
    goods_cents: int,
    due_cents: int,
    tax_cents: int,
    lines: list[dict[str, Any]],
) -> int:
    """What one adjustment takes of what is due (its line added to `lines`), clamped to it."""
    if due_cents <= 0:
        return 0
    request = AdjustmentRequest(
        checkout_id=checkout.id,
        owner=checkout.owner_key,
        user_id=checkout.user_id,
        currency=checkout.currency,
        goods_cents=goods_cents,
        shipping_cents=checkout.shipping_cents,
        tax_cents=tax_cents,
        due_cents=due_cents,
        lines=tuple(checkout.lines or ()),
    )
    line = await adjustment.quote(session, request)
    if line is None or line.amount_cents <= 0:
        return 0
    amount = min(line.amount_cents, due_cents)
    lines.append(
        msgspec.to_builtins(msgspec.structs.replace(line, kind=adjustment.kind, amount_cents=amount))
    )
    return amount


def lines_of(checkout: Checkout) -> list[AdjustmentLine]:
    return [msgspec.convert(line, AdjustmentLine) for line in checkout.adjustments or []]


async def commit(
    session: AsyncSession, checkout: Checkout, order: Order, adjustments: Sequence[CheckoutAdjustment]
) -> None:
    """Inside the pay transaction, once the order is placed: the order keeps the checkout's lines and each
    adjustment makes its own binding (or undoes an earlier attempt's). Does not commit."""
    lines = {line.source: line for line in lines_of(checkout)}
    await session.execute(delete(OrderAdjustment).where(OrderAdjustment.order_id == order.id))
    for line in lines.values():
        session.add(
            OrderAdjustment(
                order_id=order.id,
                source=line.source,
                kind=line.kind,
                label=line.label[:120],
                amount_cents=line.amount_cents,
                data=dict(line.data),
            )
        )
    placed = PlacedOrder(
        order_id=order.id,
        number=order.number,
        checkout_id=checkout.id,
        owner=order.owner_key,
        user_id=order.user_id,
        currency=order.currency,
    )
    for adjustment in adjustments:
        await adjustment.commit(session, placed, lines.get(adjustment.source))


__all__ = [
    "AdjustmentLine",
    "AdjustmentRequest",
    "CheckoutAdjustment",
    "PlacedOrder",
    "apply",
    "commit",
    "lines_of",
]
