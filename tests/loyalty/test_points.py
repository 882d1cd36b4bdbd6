"""Points on one ledger: accrual on what was paid, pending release, reversal on (partial) refunds,
redemption at checkout charging the provider only the rest, store credit covering a whole order, expiry,
idempotent settling under duplicated and reordered events, and 50 concurrent redemptions of one balance."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import msgspec
from sqlalchemy import func, select

from commerce.orders.events import OrderUpdated
from commerce.orders.models import OrderAdjustment
from commerce.payments.models import Payment, Refund
from engage import loyalty
from engage.loyalty import expiry, ledger, report
from engage.loyalty.models import Kind, LedgerEntry, Unit
from engage.loyalty.orders import converge_spend, release_pending
from engage.platform.clock import utcnow
from engage.platform.events import DomainEvent
from engage.platform.identity import Role
from tests.loyalty.conftest import (
    adjust,
    buy,
    make_user,
    member,
    order_of,
    product,
    services_of,
    set_rules,
    settle,
    test_rules,
)
from workers.loyalty import loyalty_sink


async def _summary(shopper) -> dict:  # type: ignore[no-untyped-def]
    res = await shopper.request("GET", "/api/loyalty")
    assert res.status_code == 200, res.text
    return res.json()


async def _credit(shopper) -> int:  # type: ignore[no-untyped-def]
    res = await shopper.request("GET", "/api/store-credit")
    assert res.status_code == 200, res.text
    return res.json()["balance_cents"]


async def _release(app, days: int = 15) -> None:  # type: ignore[no-untyped-def]
    async with services_of(app).sessionmaker() as session:
        await release_pending(session, test_rules(), now=utcnow() + timedelta(days=days))
    await settle(app)


async def _entries(app, user_id: int) -> list[tuple[str, int, str]]:  # type: ignore[no-untyped-def]
    async with services_of(app).sessionmaker() as session:
        rows = await session.scalars(
            select(LedgerEntry).where(LedgerEntry.user_id == user_id).order_by(LedgerEntry.id)
        )
        return [(e.kind, e.amount, e.key) for e in rows]


async def _clean(app) -> None:  # type: ignore[no-untyped-def]
    async with services_of(app).sessionmaker() as session:
        assert await loyalty.check_ledger(session) == []


async def test_points_accrue_on_what_was_paid_and_release_after_the_pending_period(app) -> None:  # type: ignore[no-untyped-def]
    await set_rules(app, test_rules(bonus_first_order=200))
    item = await product(app, price=2500)
    _, _, shopper = await make_user(app)
    checkout, paid = await buy(app, shopper, item.variants[0].id, 2)
    assert paid.status_code == 200 and paid.json()["status"] == "paid", paid.text
    assert checkout["shipping_cents"] > 0  # shipping earns nothing

    mine = await _summary(shopper)
    assert (mine["balance"], mine["pending"]) == (0, 50 + 200)  # 5000 cents of goods at 1 point per unit
    await _release(app, days=13)
    assert (await _summary(shopper))["pending"] == 250, "not before the pending period ends"
    await _release(app, days=15)
    mine = await _summary(shopper)
    assert (mine["balance"], mine["pending"]) == (250, 0)
    assert sum(e["amount"] for e in mine["expiring"]) == 250
    res = await shopper.request("GET", "/api/loyalty/ledger")
    kinds = [e["kind"] for e in res.json()["entries"]]
    assert {"pending", "earned"} <= set(kinds)
    await _clean(app)


async def test_a_partial_refund_reverses_its_share_and_a_full_one_the_rest(app) -> None:  # type: ignore[no-untyped-def]
    await set_rules(app, test_rules())
    item = await product(app, price=2500)
    _, _, admin = await make_user(app, Role.admin)
    user_id, _, shopper = await make_user(app)
    _, paid = await buy(app, shopper, item.variants[0].id, 4)  # 10000 cents of goods: 100 points
    number = paid.json()["order_number"]
    order = await order_of(app, number)
    half = order.total_cents // 2
    res = await admin.request("POST", f"/api/staff/orders/{number}/refund", json={"amount_cents": half})
    assert res.status_code == 200 and res.json()["status"] == "partially_refunded", res.text
    await settle(app)
    reversed_ = 100 * half // order.total_cents
    assert (await _summary(shopper))["pending"] == 100 - reversed_

    res = await admin.request("POST", f"/api/staff/orders/{number}/refund", json={})
    assert res.status_code == 200 and res.json()["status"] == "refunded", res.text
    await settle(app)
    assert (await _summary(shopper))["pending"] == 0
    kinds = [k for k, _, _ in await _entries(app, user_id)]
    assert kinds.count("reversed") == 2
    await _clean(app)


async def test_redeeming_at_checkout_charges_the_provider_only_the_rest(app) -> None:  # type: ignore[no-untyped-def]
    item, admin, _, _, shopper = await member(app, price=3000, points=1000)

    checkout, paid = await buy(app, shopper, item.variants[0].id, 1, points=500)
    line = checkout["adjustments"][0]
    assert (line["source"], line["kind"], line["amount_cents"], line["data"]) == (
        "loyalty.points",
        "discount",
        500,
        {"points": 500},
    )
    assert paid.json()["status"] == "paid", paid.text
    order = await order_of(app, paid.json()["order_number"])
    async with services_of(app).sessionmaker() as session:
        charged = await session.scalar(select(Payment.amount_cents).where(Payment.order_id == order.id))
        kept = (
            await session.scalars(select(OrderAdjustment).where(OrderAdjustment.order_id == order.id))
        ).all()
    assert charged == order.total_cents == checkout["total_cents"]
    assert (
        order.total_cents
        == order.subtotal_cents - order.discount_cents + order.shipping_cents + order.tax_cents - 500
    )
    taxable = order.subtotal_cents - order.discount_cents + order.shipping_cents - 500
    assert order.tax_cents == (taxable * 725 + 5_000) // 10_000 > 0, "California's tax on what is paid for"
    assert [(a.source, a.amount_cents) for a in kept] == [("loyalty.points", 500)]
    assert (await _summary(shopper))["balance"] == 500

    res = await admin.request(
        "POST", f"/api/staff/orders/{order.number}/cancel", json={"reason": "changed mind"}
    )
    assert res.status_code == 200 and res.json()["status"] == "cancelled", res.text
    await settle(app)
    mine = await _summary(shopper)
    assert (mine["balance"], mine["pending"]) == (1000, 0), "spent points come back, earned ones go"
    await _clean(app)


async def test_an_order_paid_wholly_by_store_credit_needs_no_card(app) -> None:  # type: ignore[no-untyped-def]
    item, admin, _, _, shopper = await member(app, price=1500, credit=100_000)
    checkout, paid = await buy(app, shopper, item.variants[0].id, 1, use_credit=True, card=None)
    assert checkout["total_cents"] == 0
    assert checkout["adjustments"][0]["source"] == "store_credit"
    value = checkout["adjustments"][0]["amount_cents"]
    assert paid.status_code == 200 and paid.json()["status"] == "paid", paid.text
    order = await order_of(app, paid.json()["order_number"])
    async with services_of(app).sessionmaker() as session:
        payment = await session.scalar(select(Payment).where(Payment.order_id == order.id))
    assert payment is not None and payment.amount_cents == 0 and payment.intent_id.startswith("covered-")
    assert await _credit(shopper) == 100_000 - value
    taxable = order.subtotal_cents - order.discount_cents + order.shipping_cents
    assert order.tax_cents == (taxable * 725 + 5_000) // 10_000 > 0, "credit is money: it pays the tax too"

    # a checkout with something left to pay still needs a card
    await shopper.add(item.variants[0].id, 1)
    other = await shopper.checkout()
    res = await shopper.request(
        "POST", f"/api/checkout/{other['id']}/pay", json={}, headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert res.status_code == 422 and res.json()["field"] == "payment_method", res.text

    res = await admin.request("POST", f"/api/staff/orders/{order.number}/cancel", json={})
    assert res.status_code == 200 and res.json()["status"] == "cancelled", res.text
    await settle(app)
    assert await _credit(shopper) == 100_000, "store credit is restored on a refund"
    await _clean(app)


async def _refund(admin, number: str, **body: object) -> dict:  # type: ignore[no-untyped-def]
    res = await admin.request("POST", f"/api/staff/orders/{number}/refund", json=body)
    assert res.status_code == 200, res.text
    return res.json()


async def _refunds(app, order_id: int) -> list[tuple[int, dict[str, int]]]:  # type: ignore[no-untyped-def]
    async with services_of(app).sessionmaker() as session:
        rows = await session.scalars(select(Refund).where(Refund.order_id == order_id).order_by(Refund.id))
        return [(r.amount_cents, dict(r.tenders)) for r in rows]


async def test_partial_refunds_of_an_order_paid_with_store_credit_alone(app) -> None:  # type: ignore[no-untyped-def]
    item, admin, _, _, shopper = await member(app, price=1500, credit=100_000)
    checkout, paid = await buy(app, shopper, item.variants[0].id, 2, use_credit=True, card=None)
    value = checkout["adjustments"][0]["amount_cents"]
    order = await order_of(app, paid.json()["order_number"])
    assert checkout["total_cents"] == 0 and await _credit(shopper) == 100_000 - value

    view = await _refund(admin, order.number, amount_cents=700, reason="scratched")
    await settle(app)
    assert (view["status"], view["refunded_cents"], view["tenders_refunded_cents"]) == (
        "partially_refunded",
        0,
        700,
    )
    assert view["refundable_cents"] == value - 700
    assert await _credit(shopper) == 100_000 - value + 700
    line = view["lines"][0]
    view = await _refund(admin, order.number, lines=[{"line_id": line["id"], "quantity": 1}], restock=True)
    await settle(app)
    assert view["tenders_refunded_cents"] == 700 + line["line_total_cents"] // 2
    assert await _credit(shopper) == 100_000 - value + view["tenders_refunded_cents"]
    res = await admin.request(
        "POST", f"/api/staff/orders/{order.number}/refund", json={"amount_cents": value}
    )
    assert res.status_code == 409 and res.json()["code"] == "over_refund", res.text

    left = value - view["tenders_refunded_cents"]
    answers = await asyncio.gather(  # four staff refund 40 % of what is left at once: two fit
        *(
            admin.request(
                "POST", f"/api/staff/orders/{order.number}/refund", json={"amount_cents": left * 2 // 5}
            )
            for _ in range(4)
        )
    )
    assert sorted(r.status_code for r in answers) == [200, 200, 409, 409], [r.text for r in answers]
    view = await _refund(admin, order.number)
    await settle(app)
    assert (view["status"], view["refundable_cents"], view["tenders_refunded_cents"]) == (
        "refunded",
        0,
        value,
    )
    assert await _credit(shopper) == 100_000, "all of it back, once"
    assert [card for card, _ in await _refunds(app, order.id)] == [0] * 5, "no provider was asked"
    await _clean(app)


async def test_a_refund_of_an_order_paid_by_card_and_credit_goes_back_in_proportion(app) -> None:  # type: ignore[no-untyped-def]
    item, admin, _, _, shopper = await member(app, price=4000, credit=1_000)
    checkout, paid = await buy(app, shopper, item.variants[0].id, 1, use_credit=True)
    assert paid.json()["status"] == "paid", paid.text
    order = await order_of(app, paid.json()["order_number"])
    card, credit = order.total_cents, 1_000
    worth = card + credit
    assert checkout["total_cents"] == card > 0 and await _credit(shopper) == 0

    first = worth // 3
    view = await _refund(admin, order.number, amount_cents=first)
    await settle(app)
    to_card = first * card // worth
    assert await _refunds(app, order.id) == [(to_card, {"store_credit": first - to_card})]
    assert (view["refunded_cents"], view["tenders_refunded_cents"]) == (to_card, first - to_card)
    assert await _credit(shopper) == first - to_card

    view = await _refund(admin, order.number)
    await settle(app)
    assert view["status"] == "refunded" and view["refundable_cents"] == 0
    assert view["refunded_cents"] == card, "the card got back exactly what it paid"
    assert await _credit(shopper) == credit, "and the credit all of its part"
    assert sum(c for c, _ in await _refunds(app, order.id)) == card
    await _clean(app)


async def test_a_reversal_may_take_the_balance_negative_and_then_nothing_is_redeemed(app) -> None:  # type: ignore[no-untyped-def]
    item, admin, _, _, shopper = await member(app, price=2500, points=300)
    _, first = await buy(app, shopper, item.variants[0].id, 2)  # 50 points
    await _release(app)
    assert (await _summary(shopper))["balance"] == 350
    _, second = await buy(app, shopper, item.variants[0].id, 2, points=350)
    assert second.json()["status"] == "paid"
    assert (await _summary(shopper))["balance"] == 0
    res = await admin.request("POST", f"/api/staff/orders/{first.json()['order_number']}/refund", json={})
    assert res.status_code == 200, res.text
    await settle(app)
    mine = await _summary(shopper)
    assert mine["balance"] == -50 and not mine["can_redeem"]

    await shopper.add(item.variants[0].id, 1)
    checkout = await shopper.checkout()
    res = await shopper.request("PUT", f"/api/loyalty/checkouts/{checkout['id']}", json={"points": 100})
    assert res.status_code == 200
    shown = (await shopper.request("GET", f"/api/checkout/{checkout['id']}")).json()
    assert shown["adjustments"] == [], "a negative balance redeems nothing"
    await _clean(app)


async def test_settling_is_idempotent_under_duplicated_and_reordered_events(app) -> None:  # type: ignore[no-untyped-def]
    await set_rules(app, test_rules(bonus_first_order=100))
    item = await product(app, price=2000)
    _, _, admin = await make_user(app, Role.admin)
    user_id, _, shopper = await make_user(app)
    _, paid = await buy(app, shopper, item.variants[0].id, 3, points=None)
    number = paid.json()["order_number"]
    order = await order_of(app, number)
    res = await admin.request(
        "POST", f"/api/staff/orders/{number}/refund", json={"amount_cents": order.total_cents // 3}
    )
    assert res.status_code == 200, res.text
    await settle(app)
    before = await _entries(app, user_id)

    def updated(status: str, refunded: int) -> DomainEvent:
        data = OrderUpdated(
            order_id=order.id,
            number=number,
            status=status,
            total_cents=order.total_cents,
            refunded_cents=refunded,
            currency="usd",
            tracking_number=None,
            carrier=None,
            expected_delivery=None,
        )
        return DomainEvent(OrderUpdated.type, msgspec.to_builtins(data), (f"user:{user_id}",))

    sink = loyalty_sink(services_of(app))
    late = [updated("partially_refunded", order.total_cents // 3), updated("paid", 0), updated("paid", 0)]
    await sink(late)
    await sink(list(reversed(late)))
    async with services_of(app).sessionmaker() as session:
        for _ in range(3):
            await loyalty.settle(session, order.id)
    await settle(app)
    assert await _entries(app, user_id) == before
    await _clean(app)


async def test_fifty_concurrent_redemptions_never_spend_more_than_the_balance(app) -> None:  # type: ignore[no-untyped-def]
    await set_rules(app, test_rules())
    _, _, admin = await make_user(app, Role.admin)
    user_id, _, shopper = await make_user(app)
    await adjust(app, admin, user_id, 1000)
    services = services_of(app)

    async def redeem(n: int) -> bool:
        async with services.sessionmaker() as session:
            try:
                await converge_spend(session, user_id, Unit.points, f"race:{user_id}:{n}", 100, actor="test")
                await session.commit()
                return True
            except ledger.InsufficientBalance:
                await session.rollback()
                return False

    results = await asyncio.gather(*(redeem(n) for n in range(50)))
    assert sum(results) == 10
    assert (await _summary(shopper))["balance"] == 0
    async with services.sessionmaker() as session:
        spent = await session.scalar(
            select(func.sum(LedgerEntry.amount)).where(
                LedgerEntry.user_id == user_id, LedgerEntry.kind == "redeemed"
            )
        )
    assert spent == -1000
    await _clean(app)


async def test_lots_expire_first_ending_first_and_after_inactivity(app) -> None:  # type: ignore[no-untyped-def]
    services = services_of(app)
    user_id, _, shopper = await make_user(app)
    idle_id, _, _ = await make_user(app)
    now = utcnow()
    async with services.sessionmaker() as session:
        balance = await ledger.lock(session, user_id, Unit.points)
        await ledger.post(
            session,
            balance,
            kind=Kind.earned,
            amount=100,
            key=f"t:{user_id}:a",
            source="test",
            expires_at=now + timedelta(days=30),
        )
        await ledger.post(
            session,
            balance,
            kind=Kind.earned,
            amount=50,
            key=f"t:{user_id}:b",
            source="test",
            expires_at=now + timedelta(days=60),
        )
        await ledger.spend(
            session, balance, 30, kind=Kind.redeemed, key=f"t:{user_id}:c", source="test", actor="t"
        )
        idle = await ledger.lock(session, idle_id, Unit.points)
        await ledger.post(
            session,
            idle,
            kind=Kind.adjusted,
            amount=80,
            key=f"t:{idle_id}",
            source="test",
            at=now - timedelta(days=70),
        )
        await session.commit()
    lots = (await _summary(shopper))["expiring"]
    assert [lot["amount"] for lot in lots] == [70, 50]

    rules = test_rules(inactivity_months=2)
    async with services.sessionmaker() as session:
        assert (
            await expiry.expire_user(session, user_id, Unit.points, rules, now=now + timedelta(days=31)) == 70
        )
        assert (
            await expiry.expire_user(session, user_id, Unit.points, rules, now=now + timedelta(days=31)) == 0
        )
        await session.commit()
        assert (await ledger.sums(session, user_id, Unit.points)).available == 50
        assert (
            await expiry.expire_user(session, user_id, Unit.points, rules, now=now + timedelta(days=61)) == 50
        )
        assert await expiry.expire_user(session, idle_id, Unit.points, rules, now=now) == 80
        await session.commit()
        assert (await ledger.sums(session, idle_id, Unit.points)).available == 0
    await _clean(app)


async def test_the_liability_report_adds_up(app) -> None:  # type: ignore[no-untyped-def]
    async with services_of(app).sessionmaker() as session:
        for unit in (Unit.points, Unit.credit):
            found = await report.liability(session, unit, test_rules())
            total = sum(m.earned - m.redeemed - m.reversed - m.expired + m.adjusted for m in found.months)
            assert total == found.outstanding == (found.months[-1].outstanding if found.months else 0)
            assert found.pending >= 0
