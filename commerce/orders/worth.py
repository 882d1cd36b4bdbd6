"""What an order is worth: what its card paid plus what tenders (store credit) paid, and what went back of
each. Refunds split by it (commerce.payments.refunds); staff see what is left to refund."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.orders.models import Order, OrderAdjustment
from commerce.payments.models import Refund


@dataclass(frozen=True, slots=True)
class PaidParts:
    """How an order was paid (its card, and each tender by adjustment source) and what went back of each."""

    card_cents: int
    card_back_cents: int
    tenders: dict[str, int]
    tenders_back: dict[str, int]

    @property
    def worth_cents(self) -> int:
        return self.card_cents + sum(self.tenders.values())

    @property
    def back_cents(self) -> int:
        return self.card_back_cents + sum(self.tenders_back.values())

    @property
    def remaining_cents(self) -> int:
        return self.worth_cents - self.back_cents

    def split(self, amount: int) -> tuple[int, dict[str, int]]:
        """`amount` of the worth as (to the card, to each tender): the card's share of everything refunded so
        far is kept in proportion to what it paid (rounded down), the tenders take the rest in order."""
        after = self.back_cents + amount
        card_after = after * self.card_cents // self.worth_cents if self.worth_cents else 0
        tenders_left = sum(self.tenders.values()) - sum(self.tenders_back.values())
        to_tenders = min(max(after - card_after - sum(self.tenders_back.values()), 0), tenders_left, amount)
        parts: dict[str, int] = {}
        for source, paid in self.tenders.items():
            take = min(to_tenders, paid - self.tenders_back.get(source, 0))
            if take > 0:
                parts[source] = take
                to_tenders -= take
        return amount - sum(parts.values()), parts


async def paid_parts(session: AsyncSession, order: Order) -> PaidParts:
    """Read under the caller's lock of the order; refunds that failed gave their parts back."""
    tenders: dict[str, int] = {}
    for source, cents in await session.execute(
        select(OrderAdjustment.source, OrderAdjustment.amount_cents)
        .where(OrderAdjustment.order_id == order.id, OrderAdjustment.kind == "tender")
        .order_by(OrderAdjustment.id)
    ):
        tenders[source] = tenders.get(source, 0) + cents
    back: dict[str, int] = {}
    for (parts,) in await session.execute(
        select(Refund.tenders).where(Refund.order_id == order.id, Refund.status != "failed")
    ):
        for source, cents in (parts or {}).items():
            back[source] = back.get(source, 0) + int(cents)
    return PaidParts(order.total_cents, order.refunded_cents, tenders, back)
