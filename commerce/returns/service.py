"""Self-service returns: a shopper asks to send back units of a delivered order, within the return window
and never more than bought minus what is returned or already asked for (checked with the order row locked,
so two requests at once cannot exceed it); staff receive the parcel (the lines are refunded at the price
paid, restocked if they say so) or reject the request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from commerce import orders
from commerce.orders import OrderStatus
from commerce.returns.models import ReturnRequest, ReturnStatus
from engage.platform.clock import utcnow
from engage.platform.db import rows_matched
from engage.platform.errors import Conflict, InvalidInput, NotFound

RETURNABLE = {OrderStatus.delivered.value, OrderStatus.partially_refunded.value}


@dataclass(frozen=True, slots=True)
class Line:
    line_id: int
    quantity: int


class ReturnView(msgspec.Struct):
    id: int
    rma: str  # written on the parcel
    order_number: str
    lines: list[dict[str, int]]
    reason: str
    status: str
    created_at: datetime
    closed_at: datetime | None
    note: str
    instructions: str


def _instructions(rma: str, ship_to: str) -> str:
    return (
        f"Pack the items with a note saying {rma}, and send the parcel to: "
        f"{ship_to or 'the address on your delivery note'}. "
        "We refund the items to your card when they arrive."
    )


def view(row: ReturnRequest, ship_to: str) -> ReturnView:
    """`ship_to`: ENGAGE_RETURNS_ADDRESS (empty: the delivery note's)."""
    rma = f"RMA-{row.id}"
    return ReturnView(
        row.id, rma, row.order_number, list(row.lines), row.reason, row.status, row.created_at, row.closed_at,
        row.note, _instructions(rma, ship_to),
    )  # fmt: skip


async def request(
    session: AsyncSession,
    number: str,
    *,
    owner: str,
    user_id: int | None,
    lines: Sequence[Line],
    reason: str,
    window_days: int,
) -> ReturnRequest:
    await orders.shopper_order(session, number, owner=owner, user_id=user_id)  # 404 unless theirs
    order = await orders.load(session, number, lock=True)  # requests for one order wait here, one by one
    if order.status not in RETURNABLE or order.delivered_at is None:
        raise Conflict("only a delivered order can be returned", code="not_returnable")
    if utcnow() - order.delivered_at > timedelta(days=window_days):
        raise Conflict(
            f"returns are accepted within {window_days} days of delivery", code="return_window_over"
        )
    if not lines:
        raise InvalidInput("choose at least one item to return", field="lines")
    pending = await session.scalars(
        select(ReturnRequest).where(
            ReturnRequest.order_id == order.id, ReturnRequest.status == ReturnStatus.requested.value
        )
    )
    asked: dict[int, int] = {}
    for row in pending:
        for item in row.lines:
            asked[item["line_id"]] = asked.get(item["line_id"], 0) + item["quantity"]
    by_id = {line.id: line for line in order.lines}
    wanted: dict[int, int] = {}
    for asked_line in lines:
        wanted[asked_line.line_id] = wanted.get(asked_line.line_id, 0) + asked_line.quantity
    for line_id, quantity in wanted.items():
        line = by_id.get(line_id)
        if line is None:
            raise InvalidInput(f"line {line_id} is not on this order", field="lines")
        left = line.quantity - line.returned_quantity - asked.get(line_id, 0)
        if quantity > left:
            raise Conflict(
                f"at most {left} of {line.name} can still be returned", code="over_return", line_id=line_id
            )
    row = ReturnRequest(
        order_id=order.id,
        order_number=order.number,
        lines=[{"line_id": k, "quantity": v} for k, v in sorted(wanted.items())],
        reason=reason.strip()[:300],
        requested_by=owner,
    )
    session.add(row)
    await session.commit()
    return row


async def of_order(
    session: AsyncSession, number: str, *, owner: str, user_id: int | None
) -> list[ReturnRequest]:
    order = await orders.shopper_order(session, number, owner=owner, user_id=user_id)
    rows = await session.scalars(
        select(ReturnRequest).where(ReturnRequest.order_number == order.number).order_by(ReturnRequest.id)
    )
    return list(rows)


async def staff_list(
    session: AsyncSession, status: str | None = None, limit: int = 100
) -> list[ReturnRequest]:
    query = select(ReturnRequest).order_by(ReturnRequest.id.desc()).limit(limit)
    if status is not None:
        query = query.where(ReturnRequest.status == status)
    return list(await session.scalars(query))


async def close(
    session: AsyncSession, return_id: int, status: ReturnStatus, *, actor: str, note: str = ""
) -> ReturnRequest:
    """Close a request still open (one UPDATE: of two staff clicking at once, one closes it, the other gets
    409). Commits."""
    closed = await session.execute(
        update(ReturnRequest)
        .where(ReturnRequest.id == return_id, ReturnRequest.status == ReturnStatus.requested.value)
        .values(status=status.value, handled_by=actor[:40], note=note[:300], closed_at=utcnow())
    )
    await session.commit()
    row = await session.get(ReturnRequest, return_id, populate_existing=True)
    if row is None:
        raise NotFound(f"no return {return_id}", code="return_not_found")
    if rows_matched(closed) != 1:
        raise Conflict(f"this return is {row.status} already", code="return_closed")
    return row


async def reopen(session: AsyncSession, return_id: int) -> None:
    """Undo a close whose refund failed (the provider refused or was down): it can be received again."""
    await session.execute(
        update(ReturnRequest)
        .where(ReturnRequest.id == return_id)
        .values(status=ReturnStatus.requested.value, handled_by="", closed_at=None)
    )
    await session.commit()
