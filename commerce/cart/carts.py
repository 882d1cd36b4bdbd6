"""Carts: lines by variant for an owner key; priced and checked against stock whenever they are shown.

A cart holds no stock (checkout does). Adding more than is available for the owner is refused; a line whose
stock went away stays in the cart, marked, so the shopper sees why checkout refuses it.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from sqlalchemy import case, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from commerce import inventory
from commerce.cart.events import CartItemAdded
from commerce.cart.models import Cart, CartLine
from commerce.catalog.models import Product, Variant
from commerce.pricing import PricedLine, Promotion, price_lines
from engage.platform.clock import utcnow
from engage.platform.db import insert_for
from engage.platform.errors import Conflict, InvalidInput, NotFound
from engage.platform.events import record

MAX_LINE_QUANTITY = 99
MAX_LINES = 100


class CartView(msgspec.Struct):
    owner: str
    currency: str
    lines: list[PricedLine]
    subtotal_cents: int
    discount_cents: int
    total_cents: int  # goods only; shipping and tax come at checkout
    item_count: int
    problems: list[str]  # lines that cannot be bought as they are


async def _cart_id(session: AsyncSession, owner: str, *, create: bool) -> int | None:
    cart_id = await session.scalar(select(Cart.id).where(Cart.owner_key == owner))
    if cart_id is not None or not create:
        return cart_id
    try:
        async with session.begin_nested():
            cart = Cart(owner_key=owner)
            session.add(cart)
        return cart.id
    except IntegrityError:  # made by a concurrent request of the same shopper
        return await session.scalar(select(Cart.id).where(Cart.owner_key == owner))


async def _lines(session: AsyncSession, cart_id: int | None) -> list[tuple[int, int]]:
    if cart_id is None:
        return []
    rows = await session.execute(
        select(CartLine.variant_id, CartLine.quantity)
        .where(CartLine.cart_id == cart_id)
        .order_by(CartLine.id)
    )
    return [(r.variant_id, r.quantity) for r in rows]


async def view(
    session: AsyncSession,
    owner: str,
    *,
    user_id: int | None,
    currency: str,
    promotions: Sequence[Promotion] = (),
) -> CartView:
    wanted = await _lines(session, await _cart_id(session, owner, create=False))
    pricing = await price_lines(
        session, wanted, owner=owner, user_id=user_id, at=utcnow(), promotions=promotions
    )
    problems = []
    for line in pricing.lines:
        if not line.purchasable:
            problems.append(f"{line.name} is no longer sold")
        elif line.available <= 0:
            problems.append(f"{line.name} ({line.sku}) is sold out")
        elif line.quantity > line.available:
            problems.append(f"only {line.available} of {line.name} ({line.sku}) left")
    return CartView(
        owner=owner,
        currency=currency,
        lines=pricing.lines,
        subtotal_cents=pricing.subtotal_cents,
        discount_cents=pricing.discount_cents,
        total_cents=pricing.goods_cents,
        item_count=sum(line.quantity for line in pricing.lines),
        problems=problems,
    )


async def _buyable(session: AsyncSession, owner: str, variant_id: int) -> int:
    """What `owner` could have of a published variant: free stock plus their own holds of it."""
    status = await session.scalar(
        select(Product.status).join(Variant, Variant.product_id == Product.id).where(Variant.id == variant_id)
    )
    if status != "published":
        raise NotFound(f"variant {variant_id} is not for sale", field="variant_id")
    level = await inventory.get_level(session, variant_id)
    own = sum(h.quantity for h in await inventory.holds_of(session, owner) if h.variant_id == variant_id)
    return (max(level.available, 0) if level else 0) + own


async def set_quantity(
    session: AsyncSession, owner: str, variant_id: int, quantity: int, *, add: bool = False
) -> None:
    """Set a line's quantity (0 removes it), or add to it with `add=True`. Commits."""
    if quantity < 0 or (add and quantity == 0):
        raise InvalidInput("quantity must be positive", field="quantity")
    cart_id = await _cart_id(session, owner, create=quantity > 0)
    if cart_id is None:
        return
    current = dict(await _lines(session, cart_id))
    target = current.get(variant_id, 0) + quantity if add else quantity
    if target > MAX_LINE_QUANTITY:
        raise InvalidInput(f"at most {MAX_LINE_QUANTITY} of one item per order", field="quantity")
    if target == 0:
        await session.execute(
            delete(CartLine).where(CartLine.cart_id == cart_id, CartLine.variant_id == variant_id)
        )
        await session.commit()
        return
    available = await _buyable(session, owner, variant_id)
    if target > available:
        raise Conflict(
            "sold out" if available <= 0 else f"only {available} left",
            code="out_of_stock",
            variant_id=variant_id,
            available=max(available, 0),
        )
    if variant_id in current:
        await session.execute(
            update(CartLine)
            .where(CartLine.cart_id == cart_id, CartLine.variant_id == variant_id)
            .values(quantity=target)
        )
    else:
        if len(current) >= MAX_LINES:
            raise InvalidInput(f"a cart holds at most {MAX_LINES} different items")
        try:
            async with session.begin_nested():
                session.add(CartLine(cart_id=cart_id, variant_id=variant_id, quantity=target))
        except IntegrityError:  # the same line added by a concurrent request
            await session.execute(
                update(CartLine)
                .where(CartLine.cart_id == cart_id, CartLine.variant_id == variant_id)
                .values(quantity=target)
            )
    await session.execute(update(Cart).where(Cart.id == cart_id).values(updated_at=utcnow()))
    if (added := target - current.get(variant_id, 0)) > 0:
        record(session, CartItemAdded(visitor=owner, variant_id=variant_id, quantity=added))
    await session.commit()


async def add_held_unit(session: AsyncSession, owner: str, variant_id: int) -> None:
    """Put one unit the owner already holds (a flash-sale claim's) in their cart: no stock check, the hold
    is theirs. Two statements, whatever the cart held; held units are bounded by the sales' per-customer
    limits, not by the cart's line cap. Does not commit (the caller's transaction keeps both or neither)."""
    now = utcnow()
    insert = insert_for(session)
    cart_id = await session.scalar(
        insert(Cart)
        .values(owner_key=owner, created_at=now, updated_at=now)
        .on_conflict_do_update(index_elements=[Cart.owner_key], set_={"updated_at": now})
        .returning(Cart.id)
    )
    more = CartLine.quantity + 1
    await session.execute(
        insert(CartLine)
        .values(cart_id=cart_id, variant_id=variant_id, quantity=1, added_at=now)
        .on_conflict_do_update(
            index_elements=[CartLine.cart_id, CartLine.variant_id],
            set_={"quantity": case((more > MAX_LINE_QUANTITY, MAX_LINE_QUANTITY), else_=more)},
        )
    )
    record(session, CartItemAdded(visitor=owner, variant_id=variant_id, quantity=1))


async def remove_lines(session: AsyncSession, owner: str, variant_ids: Sequence[int] | None = None) -> None:
    """Empty the cart (after an order is paid), or drop the given lines. Does not commit."""
    cart_id = await _cart_id(session, owner, create=False)
    if cart_id is None:
        return
    stmt = delete(CartLine).where(CartLine.cart_id == cart_id)
    if variant_ids is not None:
        stmt = stmt.where(CartLine.variant_id.in_(list(variant_ids)))
    await session.execute(stmt)


async def lines_of(session: AsyncSession, owner: str) -> list[tuple[int, int]]:
    """(variant_id, quantity) of the owner's cart, oldest line first."""
    return await _lines(session, await _cart_id(session, owner, create=False))


async def merge(session: AsyncSession, from_owner: str, to_owner: str) -> None:
    """A guest's cart joins the account's at sign-in (quantities add up, capped). Does not commit."""
    guest = await lines_of(session, from_owner)
    if not guest:
        return
    cart_id = await _cart_id(session, to_owner, create=True)
    assert cart_id is not None
    mine = dict(await _lines(session, cart_id))
    for variant_id, quantity in guest:
        if variant_id in mine:
            await session.execute(
                update(CartLine)
                .where(CartLine.cart_id == cart_id, CartLine.variant_id == variant_id)
                .values(quantity=min(mine[variant_id] + quantity, MAX_LINE_QUANTITY))
            )
        else:
            session.add(
                CartLine(cart_id=cart_id, variant_id=variant_id, quantity=min(quantity, MAX_LINE_QUANTITY))
            )
    await session.execute(delete(Cart).where(Cart.owner_key == from_owner))
    await session.flush()
