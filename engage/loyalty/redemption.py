"""Points and store credit at checkout: loyalty's two adjustments in commerce's port.

The shopper says what they want to use on their checkout (`choose`); every time commerce totals the
checkout it asks `quote`, which honours as much of the choice as the balance and what is due allow (points
above the minimum, in whole minor units of value). Inside the pay transaction `commit` spends it against
the locked balance, keyed by the order; the order's later refund or cancellation gives it back
(engage.loyalty.orders.settle_order).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.checkout import AdjustmentKind, AdjustmentLine, AdjustmentRequest, Checkout, PlacedOrder
from commerce.orders.models import Order
from engage.loyalty import ledger
from engage.loyalty import rules as loyalty_rules
from engage.loyalty.models import CheckoutChoice, Kind, Unit
from engage.loyalty.orders import CREDIT_SOURCE, POINTS_SOURCE, converge_spend, order_source
from engage.platform.errors import Conflict, InvalidInput, NotFound


async def choose(
    session: AsyncSession, user_id: int, checkout_id: str, *, points: int | None, use_credit: bool | None
) -> CheckoutChoice:
    """Remember what the shopper wants to use on their open checkout. Commits."""
    checkout = await session.get(Checkout, checkout_id)
    if checkout is None or checkout.user_id != user_id or checkout.owner_key != f"user:{user_id}":
        raise NotFound("no such checkout")
    if checkout.status != "open":
        raise Conflict(f"this checkout is {checkout.status}", code=f"checkout_{checkout.status}")
    if points is not None:
        rules = await loyalty_rules.load(session)
        if points and points < rules.redeem_minimum:
            raise InvalidInput(f"redeem at least {rules.redeem_minimum} points", field="points")
    choice = await session.get(CheckoutChoice, checkout_id, with_for_update=True)
    if choice is None:
        choice = CheckoutChoice(checkout_id=checkout_id, user_id=user_id)
        session.add(choice)
    if points is not None:
        choice.points = points
    if use_credit is not None:
        choice.use_credit = use_credit
    await session.commit()
    return choice


async def _choice(session: AsyncSession, request: AdjustmentRequest) -> CheckoutChoice | None:
    if request.user_id is None:
        return None
    choice = await session.get(CheckoutChoice, request.checkout_id)
    return choice if choice is not None and choice.user_id == request.user_id else None


async def _held_by_order(session: AsyncSession, checkout_id: str, user_id: int, unit: Unit) -> int:
    """What an earlier attempt of this checkout's order already holds (it counts as available again)."""
    order_id = await session.scalar(select(Order.id).where(Order.checkout_id == checkout_id))
    if order_id is None:
        return 0
    kinds = [Kind.redeemed] if unit is Unit.points else [Kind.used, Kind.restored]
    return -await ledger.net_of(session, user_id, unit, order_source(order_id), kinds)


class PointsRedemption:
    """Points as a discount line: `redeem_points_per_unit` points take one currency unit off."""

    source = POINTS_SOURCE
    kind: AdjustmentKind = "discount"

    async def quote(self, session: AsyncSession, request: AdjustmentRequest) -> AdjustmentLine | None:
        choice = await _choice(session, request)
        if choice is None or choice.points <= 0 or request.user_id is None:
            return None
        rules = await loyalty_rules.load(session)
        if not rules.enabled:
            return None
        sums = await ledger.sums(session, request.user_id, Unit.points)
        usable = sums.available + await _held_by_order(
            session, request.checkout_id, request.user_id, Unit.points
        )
        points = min(choice.points, usable, rules.points_for_cents(request.due_cents))
        if sums.available < 0 or points < max(rules.redeem_minimum, 1):  # negative: nothing until positive
            return None
        cents = rules.redeem_value_cents(points)
        if cents <= 0:
            return None
        return AdjustmentLine(
            source=self.source,
            kind=self.kind,
            label=f"{points} points",
            amount_cents=cents,
            data={"points": points},
        )

    async def commit(self, session: AsyncSession, order: PlacedOrder, line: AdjustmentLine | None) -> None:
        if order.user_id is None:
            return
        points = int(line.data.get("points", 0)) if line is not None else 0
        await converge_spend(
            session, order.user_id, Unit.points, order_source(order.order_id), points, actor=order.owner
        )


class StoreCreditTender:
    """Store credit, spent before the card: the provider is charged only the rest."""

    source = CREDIT_SOURCE
    kind: AdjustmentKind = "tender"

    async def quote(self, session: AsyncSession, request: AdjustmentRequest) -> AdjustmentLine | None:
        choice = await _choice(session, request)
        if choice is None or not choice.use_credit or request.user_id is None:
            return None
        sums = await ledger.sums(session, request.user_id, Unit.credit)
        usable = sums.available + await _held_by_order(
            session, request.checkout_id, request.user_id, Unit.credit
        )
        cents = min(usable, request.due_cents)
        if cents <= 0:
            return None
        return AdjustmentLine(
            source=self.source, kind=self.kind, label="Store credit", amount_cents=cents, data={}
        )

    async def commit(self, session: AsyncSession, order: PlacedOrder, line: AdjustmentLine | None) -> None:
        if order.user_id is None:
            return
        cents = line.amount_cents if line is not None else 0
        await converge_spend(
            session, order.user_id, Unit.credit, order_source(order.order_id), cents, actor=order.owner
        )
