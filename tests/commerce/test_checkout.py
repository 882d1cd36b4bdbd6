"""Cart, checkout and payment with the `test` provider, over HTTP, as shoppers use them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, select, update

from commerce import inventory
from commerce.checkout.models import Checkout
from commerce.orders.models import Order
from commerce.payments.models import Payment
from commerce.pricing import Offer, PricingRequest
from engage.platform.clock import utcnow
from engage.platform.identity import Role
from engage.platform.runtime import Runtime
from tests.commerce.conftest import (
    ADDRESS,
    DECLINED_CARD,
    GOOD_CARD,
    THREE_DS_CARD,
    Shopper,
    make_product,
)
from tests.conftest import PASSWORD, AppClient


async def _available(runtime: Runtime, variant_id: int) -> int:
    async with runtime.sessionmaker() as s:
        level = await inventory.get_level(s, variant_id)
        assert level is not None
        return level.available


async def test_a_guest_buys_with_server_side_totals(client, runtime: Runtime) -> None:
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=5, price=2000, weight=1500)
    vid = product.variants[0].id
    shopper = await Shopper.guest(client.app)

    cart = (await shopper.add(vid, 2)).json()
    line = cart["lines"][0]
    assert (line["variant_id"], line["quantity"], line["unit_price_cents"], line["line_total_cents"]) == (
        vid,
        2,
        2000,
        4000,
    )
    assert line["available"] == 5
    assert cart["total_cents"] == 4000 and cart["problems"] == []

    res = await shopper.request("POST", "/api/checkout")
    assert res.status_code == 201
    checkout = res.json()
    assert checkout["ready_to_pay"] is False and set(checkout["missing"]) == {
        "email",
        "address",
        "shipping_method",
    }
    assert await _available(runtime, vid) == 3, "checkout holds the cart's stock"

    options = {o["code"]: o["cents"] for o in checkout["shipping_options"]}
    assert options == {"standard": 500, "express": 900 + 300 * 3}  # base + 3 started kilograms
    res = await shopper.request(
        "PATCH",
        f"/api/checkout/{checkout['id']}",
        json={"email": "Kim@Example.test", "address": ADDRESS, "shipping_method": "express"},
    )
    checkout = res.json()
    assert checkout["email"] == "kim@example.test" and checkout["ready_to_pay"]
    assert (checkout["shipping_cents"], checkout["tax_cents"]) == (1800, 421)  # 7.25% of 58.00, half up
    assert checkout["total_cents"] == 4000 + 1800 + 421

    res = await shopper.pay(checkout["id"], expected_total_cents=checkout["total_cents"])
    assert res.status_code == 200, res.text
    paid = res.json()
    assert paid["status"] == "paid" and paid["total_cents"] == checkout["total_cents"]

    order = (await shopper.request("GET", f"/api/orders/{paid['order_number']}")).json()
    assert order["status"] == "paid" and order["total_cents"] == checkout["total_cents"]
    assert [e["to_status"] for e in order["timeline"] if e["kind"] == "status"] == ["pending_payment", "paid"]
    assert (await shopper.request("GET", "/api/cart")).json()["lines"] == []
    async with runtime.sessionmaker() as s:
        level = await inventory.get_level(s, vid)
        assert level is not None and (level.on_hand, level.reserved) == (3, 0)
        assert (await inventory.check_ledger(s, [vid]))[0].consistent

    # Paying again answers with the same order, never a second charge.
    again = (await shopper.pay(checkout["id"])).json()
    assert again["status"] == "paid" and again["order_number"] == paid["order_number"]
    await shopper.aclose()


async def test_a_decline_gives_the_stock_back_and_a_retry_uses_a_new_attempt(
    client, runtime: Runtime
) -> None:
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=3)
    vid = product.variants[0].id
    shopper = await Shopper.guest(client.app)
    await shopper.add(vid, 3)
    checkout = await shopper.checkout()
    assert await _available(runtime, vid) == 0

    declined = (await shopper.pay(checkout["id"], DECLINED_CARD)).json()
    assert declined["status"] == "failed" and "declined" in declined["message"]
    assert await _available(runtime, vid) == 3, "a failed payment releases its reservation"

    paid = (await shopper.pay(checkout["id"], GOOD_CARD)).json()
    assert (
        paid["status"] == "paid" and paid["order_number"] == declined["order_number"] and paid["attempt"] == 2
    )
    async with runtime.sessionmaker() as s:
        keys = (
            await s.scalars(
                select(Payment.idempotency_key)
                .join(Order, Order.id == Payment.order_id)
                .where(Order.number == paid["order_number"])
                .order_by(Payment.attempt)
            )
        ).all()
        assert len(set(keys)) == 2, "each attempt has its own idempotency key"
        assert (await inventory.get_level(s, vid)).on_hand == 0  # type: ignore[union-attr]
    await shopper.aclose()


async def test_three_d_secure_passed_and_failed(client, runtime: Runtime) -> None:
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=4)
    vid = product.variants[0].id
    for success in (True, False):
        shopper = await Shopper.guest(client.app)
        await shopper.add(vid, 1)
        checkout = await shopper.checkout()
        pending = (await shopper.pay(checkout["id"], THREE_DS_CARD)).json()
        assert pending["status"] == "requires_action" and pending["client_secret"]
        # pressing pay again while the bank asks: the same attempt, not a new payment
        again = (await shopper.pay(checkout["id"], THREE_DS_CARD)).json()
        assert again["attempt"] == pending["attempt"] and again["status"] == "requires_action"
        res = await shopper.request(
            "POST", f"/api/checkout/{checkout['id']}/authenticate", json={"success": success}
        )
        assert res.status_code == 200, res.text
        assert res.json()["status"] == ("paid" if success else "failed")
        await shopper.aclose()
    assert await _available(runtime, vid) == 3


async def test_sold_out_and_bad_requests_are_clear(client, runtime: Runtime) -> None:
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=2)
    vid = product.variants[0].id
    first, second = await Shopper.guest(client.app), await Shopper.guest(client.app)
    res = await first.add(vid, 3)
    assert res.status_code == 409 and res.json()["available"] == 2
    assert (await first.add(vid, 2)).status_code == 200
    assert (await second.add(vid, 2)).status_code == 200
    await first.checkout()
    res = await second.request("POST", "/api/checkout")
    assert (
        res.status_code == 409 and res.json()["code"] == "out_of_stock" and "sold out" in res.json()["detail"]
    )
    cart = (await second.request("GET", "/api/cart")).json()
    assert cart["problems"] and cart["lines"][0]["available"] == 0

    empty = await Shopper.guest(client.app)
    assert (await empty.request("POST", "/api/checkout")).status_code == 422
    assert (await empty.add(999_999_999)).status_code == 404
    assert (await empty.add(vid, 0)).status_code == 400
    res = await second.request("POST", "/api/checkout/nope/pay", json={"payment_method": GOOD_CARD})
    assert res.status_code == 422 and "Idempotency-Key" in res.text
    assert (await second.pay("not-a-checkout")).status_code == 404
    stranger = (await client.get("/api/cart")).json()  # no cookie: a brand-new guest, with nothing
    assert stranger["lines"] == [] and stranger["owner"] != cart["owner"]
    for shopper in (first, second, empty):
        await shopper.aclose()


async def test_a_changed_total_is_not_charged_without_the_shopper_seeing_it(client, runtime: Runtime) -> None:
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=2, price=1000)
    shopper = await Shopper.guest(client.app)
    await shopper.add(product.variants[0].id)
    checkout = await shopper.checkout()
    res = await shopper.pay(checkout["id"], expected_total_cents=checkout["total_cents"] - 1)
    assert res.status_code == 409 and res.json()["code"] == "price_changed"
    assert res.json()["total_cents"] == checkout["total_cents"]
    await shopper.aclose()


async def test_the_same_idempotency_key_replays_the_first_answer(client, runtime: Runtime) -> None:
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=3)
    shopper = await Shopper.guest(client.app)
    await shopper.add(product.variants[0].id)
    checkout = await shopper.checkout()
    key = uuid.uuid4().hex
    answers = await asyncio.gather(*[shopper.pay(checkout["id"], key=key) for _ in range(20)])
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 19
    res = await shopper.pay(checkout["id"], DECLINED_CARD, key=key)
    assert res.status_code == 422 and res.json()["code"] == "idempotency_key_reused"
    async with runtime.sessionmaker() as s:
        orders = (await s.scalars(select(Order.id).where(Order.checkout_id == checkout["id"]))).all()
        assert len(orders) == 1
        assert await s.scalar(select(func.count(Payment.id)).where(Payment.order_id == orders[0])) == 1
    await shopper.aclose()


async def test_an_idempotency_key_makes_a_retried_cart_change_happen_once(client, runtime: Runtime) -> None:
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=10)
    vid = product.variants[0].id
    shopper, other = await Shopper.guest(client.app), await Shopper.guest(client.app)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    line = {"variant_id": vid, "quantity": 1}

    # the answer was lost and the storefront retried, five times at once: one line of one unit
    answers = await asyncio.gather(
        *[shopper.request("POST", "/api/cart/lines", json=line, headers=key) for _ in range(5)]
    )
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 4
    cart = (await shopper.request("GET", "/api/cart")).json()
    assert [(li["variant_id"], li["quantity"]) for li in cart["lines"]] == [(vid, 1)]

    res = await shopper.request("POST", "/api/cart/lines", json={**line, "quantity": 2}, headers=key)
    assert res.status_code == 422 and res.json()["code"] == "idempotency_key_reused"
    # keys belong to who sent them: the same key from another shopper is another request
    assert (await other.request("POST", "/api/cart/lines", json=line, headers=key)).status_code == 200
    assert (await other.request("GET", "/api/cart")).json()["lines"][0]["quantity"] == 1
    # a refusal is an answer too, replayed as it was
    bad = {"Idempotency-Key": uuid.uuid4().hex}
    first = await shopper.request("POST", "/api/cart/lines", json={"variant_id": 999_999_999}, headers=bad)
    again = await shopper.request("POST", "/api/cart/lines", json={"variant_id": 999_999_999}, headers=bad)
    assert first.status_code == again.status_code == 404 and first.text == again.text
    assert again.headers["content-type"].startswith("application/problem+json")
    # without a key, two presses are two presses
    for _ in range(2):
        await shopper.add(vid)
    assert (await shopper.request("GET", "/api/cart")).json()["lines"][0]["quantity"] == 3
    too_long = await shopper.request(
        "POST", "/api/cart/lines", json=line, headers={"Idempotency-Key": "k" * 256}
    )
    assert too_long.status_code == 422
    for s in (shopper, other):
        await s.aclose()


async def test_a_guest_cart_follows_the_shopper_into_the_account(
    client, runtime: Runtime, make_account
) -> None:
    account = await make_account(Role.customer)
    async with runtime.sessionmaker() as s:
        a = await make_product(s, stock=5)
        b = await make_product(s, stock=5)
    async with runtime.sessionmaker() as s:  # the account already has a line for one of them
        from commerce.cart import set_quantity

        await set_quantity(s, f"user:{account.id}", a.variants[0].id, 1)
    browser = await Shopper.guest(client.app)
    await browser.add(a.variants[0].id, 2)
    await browser.add(b.variants[0].id, 1)
    res = await browser.request(
        "POST", "/api/auth/login", json={"email": account.email, "password": PASSWORD}
    )
    assert res.status_code == 200
    cart = (await browser.request("GET", "/api/cart")).json()
    assert cart["owner"] == f"user:{account.id}"
    assert {line["variant_id"]: line["quantity"] for line in cart["lines"]} == {
        a.variants[0].id: 3,
        b.variants[0].id: 1,
    }
    await browser.aclose()


class HalfPriceForHolds:
    """A promotion in the shape a flash sale has: half price for units the shopper's claim holds."""

    def __init__(self, source: str) -> None:
        self.source = source

    async def price(self, session, request: PricingRequest) -> Sequence[Offer]:
        return [
            Offer(line.variant_id, line.unit_price_cents // 2, 1, "Flash sale", self.source)
            for line in request.lines
            if self.source in line.hold_sources
        ]


async def test_a_claimed_unit_flows_into_checkout_at_its_promotion_price(
    client, runtime: Runtime, event_log
) -> None:
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=10, price=3000)
    vid = product.variants[0].id
    shopper = await Shopper.guest(client.app)
    owner = (await shopper.request("GET", "/api/cart")).json()["owner"]
    source = f"flash:{uuid.uuid4().hex[:6]}"
    promotion = HalfPriceForHolds(source)
    client.app.state.services.promotions.append(promotion)
    try:
        async with runtime.sessionmaker() as s:  # what the flash-sale code does when a claim wins
            claim = await inventory.reserve(s, vid, 1, owner=owner, source=source, hold_seconds=300)
            await s.commit()
        cart = (await shopper.add(vid, 2)).json()
        assert (
            cart["lines"][0]["line_total_cents"] == 1500 + 3000
            and cart["lines"][0]["discount_label"] == "Flash sale"
        )
        checkout = await shopper.checkout()
        assert checkout["subtotal_cents"] == 6000 and checkout["discount_cents"] == 1500
        assert await _available(runtime, vid) == 8, "the claim is adopted, only one more unit is held"
        paid = (await shopper.pay(checkout["id"])).json()
        assert paid["status"] == "paid"
    finally:
        client.app.state.services.promotions.remove(promotion)
    await runtime.publisher.drain()
    async with runtime.sessionmaker() as s:
        assert (await inventory.get_hold(s, claim.id)).status == "consumed"  # type: ignore[union-attr]
        assert (await inventory.get_level(s, vid)).on_hand == 8  # type: ignore[union-attr]
        line = (await s.scalars(select(Order).where(Order.number == paid["order_number"]))).one()
        assert line.discount_cents == 1500
    await shopper.aclose()


async def test_abandoned_checkouts_give_their_stock_back(client, runtime: Runtime) -> None:
    app_runtime: Runtime = client.app.state.runtime
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=2)
    vid = product.variants[0].id
    idle, stuck = await Shopper.guest(client.app), await Shopper.guest(client.app)
    await idle.add(vid)
    await stuck.add(vid)
    idle_checkout = await idle.checkout()
    stuck_checkout = await stuck.checkout()
    pending = (await stuck.pay(stuck_checkout["id"], THREE_DS_CARD)).json()
    assert pending["status"] == "requires_action" and await _available(runtime, vid) == 0

    async with runtime.sessionmaker() as s:  # both holds run out
        past = utcnow() - timedelta(seconds=1)
        await s.execute(
            update(Checkout)
            .where(Checkout.id.in_([idle_checkout["id"], stuck_checkout["id"]]))
            .values(expires_at=past)
        )
        await s.execute(
            update(inventory.Reservation)
            .where(
                inventory.Reservation.source.in_(
                    [f"checkout:{idle_checkout['id']}", f"checkout:{stuck_checkout['id']}"]
                )
            )
            .values(expires_at=past)
        )
        await s.commit()
    from workers.commerce import release_expired_holds

    await release_expired_holds(app_runtime.job_context)
    assert await _available(runtime, vid) == 2
    order = (await stuck.request("GET", f"/api/orders/{pending['order_number']}")).json()
    assert order["status"] == "cancelled" and order["timeline"][-1]["actor"] == "system"
    # the abandoned 3-D Secure payment was stopped at the provider: it can no longer succeed
    res = await stuck.request(
        "POST", f"/api/checkout/{stuck_checkout['id']}/authenticate", json={"success": True}
    )
    assert res.status_code == 409
    res = await idle.pay(idle_checkout["id"])
    assert res.status_code == 409 and res.json()["code"] == "checkout_expired"
    await idle.aclose()
    await stuck.aclose()


async def test_stored_idempotent_answers_are_forgotten_after_two_days(runtime: Runtime) -> None:
    from engage.platform.idempotency import IdempotentRequest
    from workers.commerce import forget_old_idempotency_keys

    scope = f"test|{uuid.uuid4().hex}"
    async with runtime.sessionmaker() as s:
        s.add(
            IdempotentRequest(
                scope=scope,
                key="old",
                fingerprint="x",
                status_code=200,
                body={},
                created_at=utcnow() - timedelta(days=3),
            )
        )
        s.add(IdempotentRequest(scope=scope, key="new", fingerprint="x", status_code=200, body={}))
        await s.commit()
    assert await forget_old_idempotency_keys(runtime.job_context) >= 1
    async with runtime.sessionmaker() as s:
        keys = (await s.scalars(select(IdempotentRequest.key).where(IdempotentRequest.scope == scope))).all()
        assert keys == ["new"]


async def test_an_upload_longer_than_the_body_limit_goes_through_whole_with_a_key(
    client: AppClient, make_account
) -> None:
    """The pages send an Idempotency-Key with every change, uploads included: a catalog file longer than
    ENGAGE_MAX_BODY_BYTES is not keyed, and reaches the importer whole."""
    admin = await make_account(Role.admin)
    header = "product_id,name,brand,category,subcategory,tags,description,sku,option_color,option_size,option_other,price_cents,compare_at_cents,stock,weight_grams\n"
    rows = [
        f"big-{n:05d},Big {n},Brand,Category,Sub,,{'long description ' * 8},SKU-BIG-{n:05d},,,,not-a-price,,1,100\n"
        for n in range(6000)
    ]
    content = (header + "".join(rows)).encode()
    assert len(content) > client.app.state.services.settings.max_body_bytes
    res = await client.post(
        "/api/admin/catalog/import",
        files={"file": ("big.csv", content, "text/csv")},
        headers={**admin.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert res.status_code == 200, res.text[:300]
    assert len(res.json()["problems"]) == 6000 and res.json()["created"] == []
