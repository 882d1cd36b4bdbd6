"""Payments through the official Stripe SDK against localstripe, and webhooks signed the way Stripe signs.

localstripe runs on a free loopback port with fresh state, its webhooks pointed at our server (served on
another loopback port). Its known limits are worked around in the open: it cannot confirm with a new
payment method (ours attaches it at creation), it ignores idempotency keys (our own idempotency is what the
concurrency test proves), and it sends only `payment_intent.succeeded` / `payment_intent.payment_failed`,
once: duplicates, reordering, forgeries and stale deliveries use events this test signs itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import stripe
from pydantic import SecretStr
from sqlalchemy import func, select, update

from commerce import inventory
from commerce.checkout.models import Checkout
from commerce.orders.models import Order, OrderEvent
from commerce.payments.models import Payment, WebhookEvent
from engage.app import create_app
from engage.config import Settings, SettingsError
from engage.platform.clock import utcnow
from engage.platform.identity import Role
from engage.wiring import build
from tests.commerce.conftest import Shopper, make_product, serving
from tests.conftest import PASSWORD, ROOT, AppClient, free_port, running

API_KEY = "sk_test_engage_localstripe"
WEBHOOK_SECRET = "whsec_engage_test_secret"
SUCCESS, DECLINED_ON_CHARGE, THREE_DS = "4242424242424242", "4000000000000341", "4000002500003155"


@dataclass
class Localstripe:
    url: str
    process: subprocess.Popen[bytes]
    sdk: stripe.StripeClient

    async def card(self, number: str) -> str:
        """A PaymentMethod, made as Stripe.js makes it in the shopper's browser."""
        method = await self.sdk.v1.payment_methods.create_async(
            {"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}}
        )
        return method.id

    async def authenticate(self, intent_id: str, client_secret: str, *, success: bool) -> dict[str, Any]:
        """What the card issuer's 3-D Secure page does when the shopper passes or fails it."""
        async with httpx.AsyncClient() as http:
            res = await http.post(
                f"{self.url}/v1/payment_intents/{intent_id}/_authenticate",
                data={"client_secret": client_secret, "success": "true" if success else "false"},
                headers={"Authorization": f"Bearer {API_KEY}"},
            )
        assert res.status_code == 200, res.text
        return res.json()

    async def idempotency_keys(self, path_part: str) -> list[str | None]:
        """The Idempotency-Key of every POST whose path contains `path_part`, oldest first."""
        async with httpx.AsyncClient() as http:
            seen = (await http.get(f"{self.url}/_config/engage-requests")).json()
        return [r["idempotency_key"] for r in seen if path_part in r["path"]]

    async def intents_for(self, checkout_id: str) -> list[Any]:
        listing = await self.sdk.v1.payment_intents.list_async({"limit": 100})
        return [
            pi
            for pi in listing.data
            if pi.metadata and pi.metadata.to_dict().get("checkout_id") == checkout_id
        ]


@pytest.fixture(scope="module")
def localstripe() -> Iterator[Localstripe]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.commerce.localstripe_server", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{url}/v1/customers", headers={"Authorization": f"Bearer {API_KEY}"})
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        else:
            raise RuntimeError("localstripe did not start")
        sdk = stripe.StripeClient(API_KEY, base_addresses={"api": url}, http_client=stripe.HTTPXClient())
        yield Localstripe(url, process, sdk)
    finally:
        process.terminate()
        process.wait(10)


@dataclass
class StripeShop:
    app: Any
    url: str
    client: AppClient


@pytest.fixture(scope="module")
async def shop(settings: Settings, localstripe: Localstripe) -> AsyncIterator[StripeShop]:
    """The app with ENGAGE_PAYMENT_PROVIDER=stripe pointed at localstripe, served on a loopback port so
    that localstripe's webhooks reach it."""
    stripe_settings = settings.model_copy(
        update={
            "payment_provider": "stripe",
            "stripe_api_key": SecretStr(API_KEY),
            "stripe_webhook_secret": SecretStr(WEBHOOK_SECRET),
            "stripe_api_base": localstripe.url,
        }
    )
    app = create_app(stripe_settings)
    async with running(app), serving(app) as url:
        async with httpx.AsyncClient() as http:
            res = await http.post(
                f"{localstripe.url}/_config/webhooks/engage",
                json={"url": f"{url}/api/webhooks/stripe", "secret": WEBHOOK_SECRET},
            )
            assert res.status_code == 200, res.text
        async with AppClient(app, keep_cookies=False) as client:
            yield StripeShop(app, url, client)


async def _account_shopper(shop: StripeShop, runtime: Any, role: Role = Role.customer) -> tuple[Shopper, str]:
    from engage.auth import service as accounts
    from tests.conftest import PASSWORD, api_token, unique_email

    email = unique_email("stripe")
    async with runtime.sessionmaker() as session:
        await accounts.create_user(session, email=email, password=PASSWORD, role=role)
    return Shopper(shop.client, {"Authorization": f"Bearer {await api_token(shop.client, email)}"}), email


async def _checkout(
    shopper: Shopper, variant_id: int, quantity: int = 1, email: str = "buyer@example.test"
) -> dict:
    assert (await shopper.add(variant_id, quantity)).status_code == 200
    return await shopper.checkout(email=email)


async def _wait_for(predicate, what: str, seconds: float = 15.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := await predicate():
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def _webhooks_about(shop: StripeShop, intent_id: str) -> list[str]:
    async with shop.app.state.runtime.sessionmaker() as s:
        return list(
            (await s.scalars(select(WebhookEvent.type).where(WebhookEvent.object_id == intent_id))).all()
        )


async def _fingerprint(shop: StripeShop, intent_id: str) -> str:
    async with shop.app.state.runtime.sessionmaker() as s:
        return str(await s.scalar(select(Payment.card_fingerprint).where(Payment.intent_id == intent_id)))


async def _order(shop: StripeShop, number: str) -> Order:
    async with shop.app.state.runtime.sessionmaker() as s:
        order = await s.scalar(select(Order).where(Order.number == number))
        assert order is not None
        return order


# ---- the SDK against localstripe ----------------------------------------------------------------------------


async def test_a_card_payment_with_a_saved_customer_then_a_refund(
    shop: StripeShop, localstripe: Localstripe
) -> None:
    runtime = shop.app.state.runtime
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=5, price=2500)
    shopper, email = await _account_shopper(shop, runtime)
    checkout = await _checkout(shopper, product.variants[0].id, 2, email=email)

    res = await shopper.pay(checkout["id"], await localstripe.card(SUCCESS), save_payment_method=True)
    assert res.status_code == 200, res.text
    paid = res.json()
    assert paid["status"] == "paid" and paid["intent_id"].startswith("pi_")

    intent = await localstripe.sdk.v1.payment_intents.retrieve_async(paid["intent_id"])
    assert (
        intent.status == "succeeded" and intent.amount == checkout["total_cents"] and intent.currency == "usd"
    )
    assert intent.customer and intent.metadata["order_number"] == paid["order_number"]
    saved = (await shopper.request("GET", "/api/payments/methods")).json()
    assert [m["last4"] for m in saved] == ["4242"]

    # localstripe's own webhook arrives about a second later: recorded once, harmless.
    assert await _wait_for(lambda: _webhooks_about(shop, paid["intent_id"]), "the succeeded webhook") == [
        "payment_intent.succeeded"
    ]
    assert (await _order(shop, paid["order_number"])).status == "paid"

    # A returning shopper pays with the saved card, under the same Stripe customer.
    again = await _checkout(shopper, product.variants[0].id, 1, email=email)
    second = (await shopper.pay(again["id"], saved[0]["id"])).json()
    assert second["status"] == "paid"
    method = await localstripe.sdk.v1.payment_methods.retrieve_async(saved[0]["id"])
    assert method.card.fingerprint and (
        await _fingerprint(shop, paid["intent_id"])
        == await _fingerprint(shop, second["intent_id"])
        == method.card.fingerprint
    ), "the card behind each payment, as Stripe fingerprints it"
    assert (
        await localstripe.sdk.v1.payment_intents.retrieve_async(second["intent_id"])
    ).customer == intent.customer

    # Staff refund part, then the rest; Stripe holds the same figures.
    staff, _ = await _account_shopper(shop, runtime, Role.admin)
    number = paid["order_number"]
    res = await staff.request(
        "POST", f"/api/staff/orders/{number}/refund", json={"amount_cents": 1000, "reason": "scratch"}
    )
    assert res.status_code == 200, res.text
    assert res.json()["status"] == "partially_refunded"
    res = await staff.request(
        "POST", f"/api/staff/orders/{number}/refund", json={"amount_cents": checkout["total_cents"]}
    )
    assert res.status_code == 409 and res.json()["code"] == "over_refund"
    res = await staff.request("POST", f"/api/staff/orders/{number}/refund", json={"restock": True})
    assert res.json()["status"] == "refunded" and res.json()["refunded_cents"] == checkout["total_cents"]
    refunds = await localstripe.sdk.v1.refunds.list_async({"payment_intent": paid["intent_id"]})
    assert sorted(r.amount for r in refunds.data) == sorted([1000, checkout["total_cents"] - 1000])
    refund_keys = [k for k in await localstripe.idempotency_keys("/v1/refunds") if k and number in k]
    assert refund_keys == [f"refund-{number}-1", f"refund-{number}-2"]  # the refused one never got that far
    async with runtime.sessionmaker() as s:
        assert (await inventory.get_level(s, product.variants[0].id)).on_hand == 4  # type: ignore[union-attr]


async def test_an_erased_account_s_customer_and_saved_cards_are_deleted_at_stripe(
    shop: StripeShop, localstripe: Localstripe
) -> None:
    from workers.commerce import delete_erased_payment_customers

    runtime = shop.app.state.runtime
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=5, price=1500)
    shopper, email = await _account_shopper(shop, runtime)
    checkout = await _checkout(shopper, product.variants[0].id, email=email)
    paid = await shopper.pay(checkout["id"], await localstripe.card(SUCCESS), save_payment_method=True)
    assert paid.status_code == 200, paid.text
    customer = (await localstripe.sdk.v1.payment_intents.retrieve_async(paid.json()["intent_id"])).customer
    assert customer and (await localstripe.sdk.v1.customers.retrieve_async(str(customer))).email == email
    exported = (await shopper.request("GET", "/api/account/privacy/export")).json()
    assert exported["payment_customers"] == [{"provider": "stripe", "customer": customer}]

    asked = await shopper.request("POST", "/api/account/privacy/erasure", json={"password": PASSWORD})
    assert asked.status_code == 202, asked.text
    admin, _ = await _account_shopper(shop, runtime, Role.admin)
    done = await admin.request("POST", f"/api/admin/privacy/requests/{asked.json()['id']}/erase")
    assert done.status_code == 200, done.text
    ctx = runtime.job_context
    assert await delete_erased_payment_customers(ctx) == 1
    with pytest.raises(stripe.InvalidRequestError):
        await localstripe.sdk.v1.customers.retrieve_async(str(customer))
    assert await delete_erased_payment_customers(ctx) == 0  # done once


async def test_a_card_declined_when_charged_then_another_card(
    shop: StripeShop, localstripe: Localstripe
) -> None:
    runtime = shop.app.state.runtime
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=2)
    vid = product.variants[0].id
    shopper = await Shopper.guest(shop.app)
    checkout = await _checkout(shopper, vid, 2)

    declined = (await shopper.pay(checkout["id"], await localstripe.card(DECLINED_ON_CHARGE))).json()
    assert declined["status"] == "failed" and "declined" in declined["message"].lower()
    async with runtime.sessionmaker() as s:
        assert (await inventory.get_level(s, vid)).available == 2  # type: ignore[union-attr]
    assert await _wait_for(lambda: _webhooks_about(shop, declined["intent_id"]), "the failed webhook") == [
        "payment_intent.payment_failed"
    ]

    paid = (await shopper.pay(checkout["id"], await localstripe.card(SUCCESS))).json()
    assert paid["status"] == "paid" and paid["intent_id"] != declined["intent_id"]
    async with runtime.sessionmaker() as s:
        keys = (
            await s.scalars(
                select(Payment.idempotency_key)
                .join(Order)
                .where(Order.checkout_id == checkout["id"])
                .order_by(Payment.attempt)
            )
        ).all()
    assert len(keys) == 2 and keys[0] != keys[1], "a new Stripe idempotency key after a decline"
    # What reached Stripe: each attempt's create and confirm carry that attempt's own stable key.
    sent = await localstripe.idempotency_keys(declined["intent_id"]) + await localstripe.idempotency_keys(
        paid["intent_id"]
    )
    assert sent == [f"{keys[0]}:confirm", f"{keys[1]}:confirm"]
    creates = [
        k for k in await localstripe.idempotency_keys("/v1/payment_intents") if k and k.endswith(":create")
    ]
    assert f"{keys[0]}:create" in creates and f"{keys[1]}:create" in creates
    await shopper.aclose()


async def test_three_d_secure_completed_and_failed(shop: StripeShop, localstripe: Localstripe) -> None:
    runtime = shop.app.state.runtime
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=3)
    vid = product.variants[0].id

    # Completed: the webhook that follows drives the order to paid.
    shopper = await Shopper.guest(shop.app)
    checkout = await _checkout(shopper, vid)
    pending = (await shopper.pay(checkout["id"], await localstripe.card(THREE_DS))).json()
    assert pending["status"] == "requires_action" and pending["client_secret"]
    assert (await _order(shop, pending["order_number"])).status == "pending_payment"
    await localstripe.authenticate(pending["intent_id"], pending["client_secret"], success=True)

    async def paid() -> bool:
        return (await _order(shop, pending["order_number"])).status == "paid"

    await _wait_for(paid, "the webhook to mark the order paid")
    assert (await shopper.request("POST", f"/api/checkout/{checkout['id']}/confirm")).json()[
        "status"
    ] == "paid"
    assert await _fingerprint(shop, pending["intent_id"]), "recorded on the webhook's path too"
    await shopper.aclose()

    # Failed: localstripe sends nothing; the shopper's return to the page settles it, and the stock is back.
    shopper = await Shopper.guest(shop.app)
    checkout = await _checkout(shopper, vid)
    pending = (await shopper.pay(checkout["id"], await localstripe.card(THREE_DS))).json()
    await localstripe.authenticate(pending["intent_id"], pending["client_secret"], success=False)
    failed = (await shopper.request("POST", f"/api/checkout/{checkout['id']}/confirm")).json()
    assert failed["status"] == "failed" and "authentication" in failed["message"].lower()
    async with runtime.sessionmaker() as s:
        assert (await inventory.get_level(s, vid)).available == 2  # type: ignore[union-attr]
    await shopper.aclose()


async def test_twenty_identical_pay_requests_make_one_payment_intent_and_one_order(
    shop: StripeShop, localstripe: Localstripe
) -> None:
    runtime = shop.app.state.runtime
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=3)
    shopper = await Shopper.guest(shop.app)
    checkout = await _checkout(shopper, product.variants[0].id)
    card, key = await localstripe.card(SUCCESS), uuid.uuid4().hex
    answers = await asyncio.gather(*[shopper.pay(checkout["id"], card, key=key) for _ in range(20)])
    assert {a.status_code for a in answers} == {200} and len({a.text for a in answers}) == 1
    assert answers[0].json()["status"] == "paid"
    assert len(await localstripe.intents_for(checkout["id"])) == 1
    async with runtime.sessionmaker() as s:
        assert await s.scalar(select(func.count(Order.id)).where(Order.checkout_id == checkout["id"])) == 1
    await shopper.aclose()


async def test_an_abandoned_three_d_secure_payment_is_cancelled_at_stripe(
    shop: StripeShop, localstripe: Localstripe
) -> None:
    runtime = shop.app.state.runtime
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=1)
    vid = product.variants[0].id
    shopper = await Shopper.guest(shop.app)
    checkout = await _checkout(shopper, vid)
    pending = (await shopper.pay(checkout["id"], await localstripe.card(THREE_DS))).json()
    async with runtime.sessionmaker() as s:
        await s.execute(
            update(Checkout)
            .where(Checkout.id == checkout["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await s.commit()
    from workers.commerce import release_expired_holds

    await release_expired_holds(runtime.job_context)
    assert (
        await localstripe.sdk.v1.payment_intents.retrieve_async(pending["intent_id"])
    ).status == "canceled"
    assert (await _order(shop, pending["order_number"])).status == "cancelled"
    async with runtime.sessionmaker() as s:
        assert (await inventory.get_level(s, vid)).available == 1  # type: ignore[union-attr]
    await shopper.aclose()


# ---- webhooks this test signs itself ------------------------------------------------------------------------


def _event(intent_id: str, type: str = "payment_intent.succeeded", event_id: str | None = None) -> bytes:
    return json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex[:16]}",
            "object": "event",
            "type": type,
            "created": int(time.time()),
            # what the payload claims is never believed: the intent is fetched from Stripe
            "data": {"object": {"id": intent_id, "object": "payment_intent", "status": "succeeded"}},
        }
    ).encode()


def _sign(payload: bytes, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    at = at if at is not None else int(time.time())
    signature = hmac.new(secret.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={at},v1={signature}"


async def _deliver(shop: StripeShop, payload: bytes, signature: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:  # over the real socket, as Stripe would
        return await http.post(
            f"{shop.url}/api/webhooks/stripe",
            content=payload,
            headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
        )


async def test_forged_stale_and_unsigned_webhooks_are_refused(shop: StripeShop) -> None:
    payload = _event("pi_doesnotmatter")
    forged = await _deliver(shop, payload, _sign(payload, secret="whsec_someone_else"))
    assert forged.status_code == 400 and forged.json()["code"] == "invalid_signature"
    stale = await _deliver(shop, payload, _sign(payload, at=int(time.time()) - 301))
    assert stale.status_code == 400
    assert (await _deliver(shop, payload, "")).status_code == 400
    tampered = payload.replace(b"payment_intent.succeeded", b"payment_intent.canceled")
    assert (await _deliver(shop, tampered, _sign(payload))).status_code == 400
    fresh = await _deliver(shop, payload, _sign(payload))
    assert fresh.status_code == 200 and fresh.json() == {"result": "ignored"}  # not a payment of ours


async def test_a_webhook_from_the_future_is_refused(shop: StripeShop) -> None:
    payload = _event("pi_doesnotmatter")
    ahead = await _deliver(shop, payload, _sign(payload, at=int(time.time()) + 3600))
    assert ahead.status_code == 400 and ahead.json()["code"] == "invalid_signature"


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b"not json at all",
        b'{"id": 42, "type": "payment_intent.succeeded"}',
        b'{"id": "evt_x1", "type": 7, "data": "object"}',
        b'{"id": "evt_x2", "type": "charge.refunded", "data": {"object": ["payment_intent"]}}',
        b'{"id": "evt_x3", "type": "payment_intent.succeeded", "data": {"object": {"object": "payment_intent", "id": {"a": 1}}}}',
        b'{"id": "evt_x4", "type": "payment_intent.succeeded", "data": {"object": {"object": "payment_intent", "id": "pi_nobody_has_this"}}}',
        b'{"id": "evt_x5", "type": "charge.succeeded", "data": {"object": {"payment_intent": "not an id"}}}',
    ],
)
async def test_signed_but_malformed_webhooks_are_acknowledged_and_recorded_once(
    shop: StripeShop, body: bytes
) -> None:
    first = await _deliver(shop, body, _sign(body))
    assert first.status_code == 200, first.text
    assert first.json() == {"result": "ignored"}
    again = await _deliver(shop, body, _sign(body))
    assert again.status_code == 200 and again.json() == {"result": "duplicate"}


async def test_duplicate_and_out_of_order_webhooks_are_harmless(
    shop: StripeShop, localstripe: Localstripe
) -> None:
    runtime = shop.app.state.runtime
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=2)
    shopper = await Shopper.guest(shop.app)
    checkout = await _checkout(shopper, product.variants[0].id)
    pending = (await shopper.pay(checkout["id"], await localstripe.card(THREE_DS))).json()
    intent_id = pending["intent_id"]

    # "succeeded" arrives before the shopper has authenticated: Stripe says requires_action, nothing moves.
    early = _event(intent_id)
    assert (await _deliver(shop, early, _sign(early))).json() == {"result": "processed"}
    assert (await _order(shop, pending["order_number"])).status == "pending_payment"

    await localstripe.authenticate(intent_id, pending["client_secret"], success=True)
    # The same new event delivered ten times at once: one effect.
    event_id = f"evt_{uuid.uuid4().hex[:16]}"
    succeeded = _event(intent_id, event_id=event_id)
    results = await asyncio.gather(*[_deliver(shop, succeeded, _sign(succeeded)) for _ in range(10)])
    assert {r.status_code for r in results} == {200}
    assert sorted(r.json()["result"] for r in results).count("processed") == 1
    order = await _order(shop, pending["order_number"])
    assert order.status == "paid"

    # A late "payment_failed" (out of order) cannot undo a payment Stripe says succeeded.
    late = _event(intent_id, "payment_intent.payment_failed")
    assert (await _deliver(shop, late, _sign(late))).status_code == 200
    assert (await _order(shop, pending["order_number"])).status == "paid"
    async with runtime.sessionmaker() as s:
        assert (
            await s.scalar(
                select(func.count()).select_from(WebhookEvent).where(WebhookEvent.event_id == event_id)
            )
            == 1
        )
        paid_notes = await s.scalar(
            select(func.count())
            .select_from(OrderEvent)
            .where(OrderEvent.order_id == order.id, OrderEvent.to_status == "paid")
        )
        assert paid_notes == 1
        level = await inventory.get_level(s, product.variants[0].id)
        assert level is not None and (level.on_hand, level.reserved) == (1, 0)
    await shopper.aclose()


def test_the_test_provider_is_refused_in_production(settings: Settings) -> None:
    production = settings.model_copy(update={"env": "production", "payment_provider": "test"})
    with pytest.raises(SettingsError, match="refused when ENGAGE_ENV=production"):
        build(production)
    no_key = settings.model_copy(update={"payment_provider": "stripe", "stripe_api_key": None})
    with pytest.raises(SettingsError, match="ENGAGE_STRIPE_API_KEY"):
        build(no_key)
