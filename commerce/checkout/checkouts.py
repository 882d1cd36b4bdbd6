"""Checkout: the cart's lines with stock held, an address, a shipping method, and totals priced now.

Starting a checkout reserves every line for the hold time (adopting holds the shopper already has, such as
a flash-sale claim); all lines are held or none (one transaction, variants locked in id order). Totals are
always recomputed on the server from the catalog, the promotions and the configured rates.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from commerce import inventory, locks
from commerce.cart import lines_of
from commerce.checkout import adjustments
from commerce.checkout.models import Checkout, CheckoutStatus
from commerce.checkout.policy import ShopPolicy
from commerce.orders.models import Order
from commerce.payments.models import Payment, PaymentStatus
from commerce.pricing import PricedLine, Pricing, Promotion, price_lines
from engage.auth import normalise_email
from engage.platform.clock import as_utc, utcnow
from engage.platform.errors import Conflict, InvalidInput, NotFound

LIVE_PAYMENT = (
    PaymentStatus.creating.value,
    PaymentStatus.requires_action.value,
    PaymentStatus.processing.value,
)


class Address(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    line1: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    city: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    postal_code: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    country: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")]
    line2: Annotated[str, msgspec.Meta(max_length=200)] = ""
    region: Annotated[str, msgspec.Meta(max_length=60, description="state or province code")] = ""
    phone: Annotated[str, msgspec.Meta(max_length=40)] = ""


class ShippingOption(msgspec.Struct):
    code: str
    label: str
    cents: int
    delivery_days: tuple[int, int]


class CheckoutView(msgspec.Struct):
    id: str
    status: str
    currency: str
    email: str
    address: Address | None
    shipping_method: str
    shipping_options: list[ShippingOption]
    lines: list[PricedLine]
    subtotal_cents: int
    discount_cents: int
    shipping_cents: int
    tax_cents: int
    total_cents: int
    expires_at: datetime
    order_number: str | None
    ready_to_pay: bool
    missing: list[str]  # what must be given before paying
    adjustments: list[adjustments.AdjustmentLine] = []  # points, store credit: off the total, by the server


def own_source(checkout_id: str) -> str:
    return f"checkout:{checkout_id}"


async def get_for(session: AsyncSession, checkout_id: str, owner: str, *, lock: bool = False) -> Checkout:
    """The owner's checkout; anyone else's is "not found" (its existence is nobody else's business)."""
    if lock:
        checkout = (await locks.rows(session, checkout_id=checkout_id)).checkout
    else:
        query = select(Checkout).where(Checkout.id == checkout_id).execution_options(populate_existing=True)
        checkout = await session.scalar(query)
    if checkout is None or checkout.owner_key != owner:
        raise NotFound("no such checkout")
    return checkout


async def _close_previous(session: AsyncSession, owner: str) -> None:
    """A new checkout replaces the owner's open one, unless a payment of it is still under way."""
    previous = (
        await session.scalars(
            select(Checkout).where(Checkout.owner_key == owner, Checkout.status == CheckoutStatus.open.value)
        )
    ).all()
    for checkout in previous:
        live = await session.scalar(
            select(Payment.id)
            .join(Order, Order.id == Payment.order_id)
            .where(Order.checkout_id == checkout.id, Payment.status.in_(LIVE_PAYMENT))
        )
        if live is not None:
            raise Conflict(
                "a payment of your previous checkout is still under way; finish or wait for it",
                code="payment_in_progress",
                checkout_id=checkout.id,
            )
        for hold in await inventory.holds_from(session, own_source(checkout.id)):
            await inventory.release(session, hold.id, reason="replaced")
        checkout.status = CheckoutStatus.replaced.value


async def start(
    session: AsyncSession,
    owner: str,
    *,
    user_id: int | None,
    email: str,
    policy: ShopPolicy,
    promotions: Sequence[Promotion] = (),
) -> CheckoutView:
    """Hold stock for every cart line and open a checkout. Commits; OutOfStock names the line."""
    wanted = sorted(await lines_of(session, owner))  # variant id order: locks in one order everywhere
    if not wanted:
        raise InvalidInput("your cart is empty")
    await _close_previous(session, owner)
    checkout_id = secrets.token_urlsafe(16)
    pricing = await price_lines(
        session, wanted, owner=owner, user_id=user_id, at=utcnow(), promotions=promotions
    )
    unsellable = [line.name for line in pricing.lines if not line.purchasable]
    if unsellable or len(pricing.lines) != len(wanted):
        raise Conflict(f"no longer sold: {', '.join(unsellable) or 'an item'}; remove it from your cart")
    hold_ids = await _hold(session, checkout_id, owner, wanted, pricing, policy.hold_seconds)
    checkout = Checkout(
        id=checkout_id,
        owner_key=owner,
        user_id=user_id,
        email=email,
        currency=policy.currency,
        hold_ids=hold_ids,
        expires_at=utcnow() + timedelta(seconds=policy.hold_seconds),
    )
    await _total(session, checkout, pricing, policy)
    session.add(checkout)
    await session.commit()
    return _view(checkout, pricing, policy, order_number=None)


async def _hold(
    session: AsyncSession,
    checkout_id: str,
    owner: str,
    wanted: Sequence[tuple[int, int]],
    pricing: Pricing,
    hold_seconds: int,
) -> list[int]:
    names = {line.variant_id: f"{line.name} ({line.sku})" for line in pricing.lines}
    mine: dict[int, list[inventory.Hold]] = {}
    for hold in await inventory.holds_of(session, owner):
        if not hold.source.startswith("checkout:"):  # a flash claim and the like, never another checkout's
            mine.setdefault(hold.variant_id, []).append(hold)
    hold_ids = []
    for variant_id, quantity in wanted:
        need = quantity
        for hold in sorted(mine.get(variant_id, []), key=lambda h: h.expires_at):
            if 0 < hold.quantity <= need:  # adopt the shopper's own holds (a flash claim) that fit the line
                hold_ids.append(hold.id)
                need -= hold.quantity
        if need:
            try:
                held = await inventory.reserve(
                    session,
                    variant_id,
                    need,
                    owner=owner,
                    source=own_source(checkout_id),
                    hold_seconds=hold_seconds,
                )
            except inventory.OutOfStock as exc:
                left = exc.extra.get("available", 0) + (quantity - need)
                raise inventory.OutOfStock(
                    f"{names.get(variant_id, 'an item')} is sold out"
                    if left <= 0
                    else f"only {left} of {names.get(variant_id, 'an item')} left",
                    variant_id=variant_id,
                    available=left,
                ) from None
            hold_ids.append(held.id)
    return hold_ids


async def ensure_held(
    session: AsyncSession, checkout: Checkout, *, policy: ShopPolicy, promotions: Sequence[Promotion] = ()
) -> Pricing:
    """Before paying: every line held again if an earlier attempt gave its stock back; priced now."""
    wanted = sorted((line["variant_id"], line["quantity"]) for line in checkout.lines)
    active = {h.id for h in await inventory.holds_of(session, checkout.owner_key)}
    holds = [h for h in checkout.hold_ids if h in active]
    held: dict[int, int] = {}
    for hold_id in holds:
        hold = await inventory.get_hold(session, hold_id)
        if hold is not None:
            held[hold.variant_id] = held.get(hold.variant_id, 0) + hold.quantity
    missing = [(vid, qty - held.get(vid, 0)) for vid, qty in wanted if qty > held.get(vid, 0)]
    pricing = await price_lines(
        session,
        wanted,
        owner=checkout.owner_key,
        user_id=checkout.user_id,
        at=utcnow(),
        promotions=promotions,
    )
    if missing:
        holds += await _hold(session, checkout.id, checkout.owner_key, missing, pricing, policy.hold_seconds)
    until = utcnow() + timedelta(seconds=policy.hold_seconds)
    for hold_id in holds:
        hold = await inventory.get_hold(session, hold_id)
        if hold is not None and hold.source == own_source(checkout.id):
            await inventory.extend(session, hold_id, until=until)
    checkout.hold_ids = holds
    checkout.expires_at = max(as_utc(checkout.expires_at), until)
    await _total(session, checkout, pricing, policy)
    return pricing


async def _total(session: AsyncSession, checkout: Checkout, pricing: Pricing, policy: ShopPolicy) -> None:
    """The checkout's lines, shipping, adjustments and tax, as the server computes them. Does not commit."""
    address = checkout.address or {}
    country = str(address.get("country", "")).upper()
    region = str(address.get("region", ""))
    checkout.lines = [msgspec.to_builtins(line) for line in pricing.lines]
    checkout.subtotal_cents = pricing.subtotal_cents
    checkout.discount_cents = pricing.discount_cents
    shipping = 0
    if checkout.shipping_method:
        shipping = policy.shipping.quote(
            checkout.shipping_method,
            weight_grams=pricing.weight_grams,
            goods_cents=pricing.goods_cents,
            country=country,
        ).cents
    checkout.shipping_cents = shipping

    def tax_on(taxable_cents: int) -> int:
        return policy.taxes.tax_cents(taxable_cents, country=country, region=region) if country else 0

    await adjustments.apply(session, checkout, policy.adjustments, tax_on=tax_on)


def missing_for_payment(checkout: Checkout) -> list[str]:
    missing = []
    if not checkout.email:
        missing.append("email")
    if not checkout.address:
        missing.append("address")
    if not checkout.shipping_method:
        missing.append("shipping_method")
    return missing


def _view(
    checkout: Checkout, pricing: Pricing, policy: ShopPolicy, *, order_number: str | None
) -> CheckoutView:
    address = msgspec.convert(checkout.address, Address) if checkout.address else None
    country = address.country.upper() if address else ""
    options = [
        ShippingOption(q.code, q.label, q.cents, q.delivery_days)
        for q in policy.shipping.quotes(
            weight_grams=pricing.weight_grams, goods_cents=pricing.goods_cents, country=country
        )
    ]
    missing = missing_for_payment(checkout)
    return CheckoutView(
        id=checkout.id,
        status=checkout.status,
        currency=checkout.currency,
        email=checkout.email,
        address=address,
        shipping_method=checkout.shipping_method,
        shipping_options=options,
        lines=pricing.lines,
        subtotal_cents=checkout.subtotal_cents,
        discount_cents=checkout.discount_cents,
        shipping_cents=checkout.shipping_cents,
        tax_cents=checkout.tax_cents,
        total_cents=checkout.total_cents,
        expires_at=as_utc(checkout.expires_at),
        order_number=order_number,
        ready_to_pay=checkout.status == CheckoutStatus.open.value and not missing,
        missing=missing,
        adjustments=adjustments.lines_of(checkout),
    )


async def _order_number(session: AsyncSession, checkout_id: str) -> str | None:
    return await session.scalar(select(Order.number).where(Order.checkout_id == checkout_id))


async def view(
    session: AsyncSession,
    checkout_id: str,
    owner: str,
    *,
    policy: ShopPolicy,
    promotions: Sequence[Promotion] = (),
) -> CheckoutView:
    """The checkout priced now (an open one's stored totals follow, so payment charges what was shown)."""
    checkout = await get_for(session, checkout_id, owner)
    wanted = [(line["variant_id"], line["quantity"]) for line in checkout.lines]
    if checkout.status != CheckoutStatus.open.value:
        pricing = Pricing([msgspec.convert(line, PricedLine) for line in checkout.lines])
        return _view(checkout, pricing, policy, order_number=await _order_number(session, checkout.id))
    pricing = await price_lines(
        session, wanted, owner=owner, user_id=checkout.user_id, at=utcnow(), promotions=promotions
    )
    await _total(session, checkout, pricing, policy)
    await session.commit()
    return _view(checkout, pricing, policy, order_number=await _order_number(session, checkout.id))


async def change(
    session: AsyncSession,
    checkout_id: str,
    owner: str,
    *,
    email: str | None,
    address: Address | None,
    shipping_method: str | None,
    policy: ShopPolicy,
    promotions: Sequence[Promotion] = (),
) -> CheckoutView:
    checkout = await get_for(session, checkout_id, owner, lock=True)
    if checkout.status != CheckoutStatus.open.value:
        raise Conflict(f"this checkout is {checkout.status}", code=f"checkout_{checkout.status}")
    if email is not None:
        checkout.email = normalise_email(email)
    if address is not None:
        address.country = address.country.upper()
        address.region = address.region.upper()
        checkout.address = msgspec.to_builtins(address)
    if shipping_method is not None:
        policy.shipping.quote(
            shipping_method,
            weight_grams=0,
            goods_cents=0,
            country=str((checkout.address or {}).get("country", "")),
        )  # raises for an unknown method or one that does not ship there
        checkout.shipping_method = shipping_method
    elif address is not None and checkout.shipping_method:
        try:
            policy.shipping.quote(
                checkout.shipping_method, weight_grams=0, goods_cents=0, country=address.country
            )
        except InvalidInput:
            checkout.shipping_method = ""  # the new address is not served by the chosen method
    return await view(session, checkout_id, owner, policy=policy, promotions=promotions)


async def hand_over(session: AsyncSession, guest_owner: str, user_id: int) -> None:
    """A guest's open checkout follows them into their account at sign-in. Does not commit."""
    await session.execute(
        update(Checkout)
        .where(Checkout.owner_key == guest_owner, Checkout.status == CheckoutStatus.open.value)
        .values(owner_key=f"user:{user_id}", user_id=user_id)
    )
