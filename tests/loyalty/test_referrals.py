"""Referrals: the link and code, both sides rewarded after the friend's first paid order stands through the
pending period, milestones, each fraud check holding the referral, and admins' reviews with reasons."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from commerce.orders.models import Order
from engage import loyalty
from engage.auth import NewAccount
from engage.loyalty import referrals
from engage.loyalty.models import Referral
from engage.loyalty.referrals import Flag
from engage.platform.clock import utcnow
from engage.platform.identity import Role
from tests.commerce.conftest import ADDRESS
from tests.conftest import PASSWORD, api_token
from tests.loyalty.conftest import (
    buy,
    make_user,
    product,
    services_of,
    set_rules,
    settle,
    test_rules,
)


async def _referrer(app) -> tuple[int, str, Any, str]:  # type: ignore[no-untyped-def]
    user_id, email, shopper = await make_user(app)
    res = await shopper.request("GET", "/api/referrals/me")
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["link"].endswith(f"/r/{body['code']}")
    return user_id, email, shopper, body["code"]


async def _sign_up(app, code: str, *, email: str | None = None, ip: str = "", device: str = "") -> int:  # type: ignore[no-untyped-def]
    """A friend's account through the sign-up port (what the sign-up door calls), from an IP and browser."""
    user_id, email, _ = await make_user(app, email=email)
    async with services_of(app).sessionmaker() as session:
        await loyalty.welcome(session, NewAccount(user_id, email, code, ip or _ip(), device))
    return user_id


def _ip() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"


async def _paid_order(app, user_id: int, *, total: int = 5000, address: dict[str, Any] | None = None) -> int:  # type: ignore[no-untyped-def]
    async with services_of(app).sessionmaker() as session:
        order = Order(
            number="EN-" + secrets.token_hex(4).upper(),
            checkout_id=uuid.uuid4().hex,
            owner_key=f"user:{user_id}",
            user_id=user_id,
            email="x@example.test",
            status="paid",
            currency="usd",
            subtotal_cents=total,
            shipping_cents=0,
            tax_cents=0,
            total_cents=total,
            shipping_address=address or {**ADDRESS, "line1": f"{secrets.randbelow(9999)} Other St"},
            paid_at=utcnow(),
        )
        session.add(order)
        await session.commit()
        order_id = order.id
        await loyalty.settle(session, order_id)
    return order_id


async def _referral(app, referee_id: int) -> Referral:  # type: ignore[no-untyped-def]
    async with services_of(app).sessionmaker() as session:
        found = await session.scalar(select(Referral).where(Referral.referee_id == referee_id))
        assert found is not None
        return found


async def _release(app, days: int = 15) -> None:  # type: ignore[no-untyped-def]
    async with services_of(app).sessionmaker() as session:
        await loyalty.release_due(session, now=utcnow() + timedelta(days=days))
    await settle(app)


async def _credit(shopper) -> int:  # type: ignore[no-untyped-def]
    return (await shopper.request("GET", "/api/store-credit")).json()["balance_cents"]


async def test_both_sides_are_rewarded_once_the_first_order_stands_and_milestones_pay(app) -> None:  # type: ignore[no-untyped-def]
    await set_rules(app, test_rules())
    _referrer_id, _, referrer, code = await _referrer(app)
    friends = [await _sign_up(app, code) for _ in range(2)]
    assert (await _referral(app, friends[0])).status == "signed_up"
    for friend in friends:
        await _paid_order(app, friend)
    assert (await _referral(app, friends[0])).status == "qualifying"
    await _release(app, days=13)
    assert (await _referral(app, friends[0])).status == "qualifying", "not before the pending period ends"
    await _release(app)
    assert [(await _referral(app, f)).status for f in friends] == ["rewarded", "rewarded"]
    # 1000 per referral to the referrer, and the 2-referral milestone
    assert await _credit(referrer) == 2 * 1000 + 500
    await _release(app)
    assert await _credit(referrer) == 2500, "once"
    mine = (await referrer.request("GET", "/api/referrals/me")).json()
    assert mine["rewarded"] == 2


async def test_signing_up_through_the_link_over_http_attributes_the_friend(app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    await set_rules(app, test_rules(bonus_signup=25))
    mailed: list[tuple[Any, ...]] = []  # the confirmation mail's job (no worker runs here): its link's token
    jobs = services_of(app).runtime.jobs
    enqueue = jobs.enqueue

    async def recording(task: str, *args: Any, **kwargs: Any) -> None:
        if task == "send_sign_up_mail":
            mailed.append(args)
        else:
            await enqueue(task, *args, **kwargs)

    monkeypatch.setattr(jobs, "enqueue", recording)
    _, _, _, code = await _referrer(app)
    browser = type(app)(app.app, keep_cookies=True)
    try:
        await browser.get("/api/auth/me")
        res = await browser.get(f"/r/{code}", follow_redirects=False)
        assert res.status_code in (302, 303, 307) and res.headers["location"] == "/signup"
        email = f"friend-{uuid.uuid4().hex[:10]}@example.test"
        res = await browser.post(
            "/api/auth/signup",
            json={"email": email, "password": PASSWORD},
            headers={"x-csrftoken": browser.cookies.get("engage_csrf", "")},
        )
        assert res.status_code == 202, res.text
        [(_, kind, link_token, _)] = [m for m in mailed if m[0] == email]
        assert kind == "confirm"
        res = await browser.post(
            "/api/auth/signup/confirm",
            json={"token": link_token, "password": PASSWORD},
            headers={"x-csrftoken": browser.cookies.get("engage_csrf", "")},
        )
        assert res.status_code == 201, res.text
        token = await api_token(app, email)
        summary = await app.get("/api/loyalty", headers={"Authorization": f"Bearer {token}"})
        assert summary.json()["balance"] == 25, "the sign-up bonus"
    finally:
        await browser.aclose()
    async with services_of(app).sessionmaker() as session:
        referral = await session.scalar(select(Referral).where(Referral.referee_email == email))
    assert referral is not None and referral.code == code


async def _flags(app, referee_id: int) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    found = await _referral(app, referee_id)
    return found.status, list(found.flags)


async def test_self_referrals_are_held(app) -> None:  # type: ignore[no-untyped-def]
    await set_rules(app, test_rules())
    referrer_id, email, _, code = await _referrer(app)
    local, domain = email.split("@")
    same_mailbox = await _sign_up(app, code, email=f"{local}+again@{domain}")
    assert await _flags(app, same_mailbox) == ("held", [Flag.self_email])

    device = uuid.uuid4().hex
    async with services_of(app).sessionmaker() as session:
        await referrals.note_device(session, referrer_id, device)
    same_browser = await _sign_up(app, code, device=device)
    assert await _flags(app, same_browser) == ("held", [Flag.self_device])

    home = {**ADDRESS, "line1": f"{secrets.randbelow(99999)} Home Rd"}
    await _paid_order(app, referrer_id, address=home)
    same_home = await _sign_up(app, code)
    assert (await _flags(app, same_home))[0] == "signed_up"
    await _paid_order(app, same_home, address=home)
    assert await _flags(app, same_home) == ("held", [Flag.self_address])


async def test_a_friend_paying_with_the_referrers_card_is_held(app) -> None:  # type: ignore[no-untyped-def]
    await set_rules(app, test_rules())
    _, _, referrer, code = await _referrer(app)
    item = await product(app, price=2000)
    _, paid = await buy(app, referrer, item.variants[0].id, card="card:5555555555554444")
    assert paid.json()["status"] == "paid", paid.text
    friends = []
    for card in ("card:4242424242424242", "card:5555555555554444"):
        user_id, email, shopper = await make_user(app)
        async with services_of(app).sessionmaker() as session:
            await loyalty.welcome(session, NewAccount(user_id, email, code, _ip(), ""))
        elsewhere = {**ADDRESS, "line1": f"{secrets.randbelow(99999)} Elm St"}
        _, paid = await buy(app, shopper, item.variants[0].id, card=card, address=elsewhere)
        assert paid.json()["status"] == "paid", paid.text
        friends.append(user_id)
    assert await _flags(app, friends[0]) == ("qualifying", [])
    assert await _flags(app, friends[1]) == ("held", [Flag.self_card])


async def test_bursts_from_one_ip_or_one_email_pattern_and_disposable_emails_are_held(app) -> None:  # type: ignore[no-untyped-def]
    await set_rules(app, test_rules(fraud_ip_limit=2, fraud_email_pattern_limit=2))
    _, _, _, code = await _referrer(app)
    ip = _ip()
    same_ip = [await _sign_up(app, code, ip=ip) for _ in range(3)]
    assert [(await _flags(app, f))[0] for f in same_ip] == ["signed_up", "signed_up", "held"]
    assert Flag.ip_velocity in (await _flags(app, same_ip[2]))[1]

    stem = f"anna{secrets.token_hex(3)}x"
    pattern = [await _sign_up(app, code, email=f"{stem}{n}@example.test") for n in range(3)]
    assert [(await _flags(app, f))[0] for f in pattern] == ["signed_up", "signed_up", "held"]
    assert Flag.email_pattern in (await _flags(app, pattern[2]))[1]

    throwaway = await _sign_up(app, code, email=f"x{uuid.uuid4().hex[:8]}@mailinator.com")
    assert await _flags(app, throwaway) == ("held", [Flag.disposable_email])


async def test_a_refunded_first_order_holds_the_referral(app) -> None:  # type: ignore[no-untyped-def]
    await set_rules(app, test_rules())
    _, _, referrer, code = await _referrer(app)
    friend = await _sign_up(app, code)
    order_id = await _paid_order(app, friend)
    async with services_of(app).sessionmaker() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        order.status, order.refunded_cents = "refunded", order.total_cents
        await session.commit()
        await loyalty.settle(session, order_id)
    assert await _flags(app, friend) == ("held", [Flag.order_refunded])
    await _release(app)
    assert await _credit(referrer) == 0


async def test_admins_review_held_referrals_with_reasons(app) -> None:  # type: ignore[no-untyped-def]
    await set_rules(app, test_rules())
    _, _, admin = await make_user(app, Role.admin)
    _, _, customer = await make_user(app)
    _, _, referrer, code = await _referrer(app)
    held = await _sign_up(app, code, email=f"y{uuid.uuid4().hex[:8]}@yopmail.com")
    rejected = await _sign_up(app, code, email=f"z{uuid.uuid4().hex[:8]}@yopmail.com")
    await _paid_order(app, held)
    first, second = await _referral(app, held), await _referral(app, rejected)

    assert (await customer.request("GET", "/api/admin/referrals?status=held")).status_code == 403
    assert (await app.get("/api/admin/referrals")).status_code == 401
    queue = (await admin.request("GET", "/api/admin/referrals?status=held&limit=200")).json()
    assert {first.id, second.id} <= {r["id"] for r in queue}

    res = await admin.request("POST", f"/api/admin/referrals/{first.id}/review", json={"decision": "approve"})
    assert res.status_code == 400, "a reason is required"
    res = await admin.request(
        "POST",
        f"/api/admin/referrals/{first.id}/review",
        json={"decision": "approve", "reason": "known customer"},
    )
    assert res.status_code == 200 and res.json()["status"] == "rewarded", res.text
    res = await admin.request(
        "POST",
        f"/api/admin/referrals/{second.id}/review",
        json={"decision": "reject", "reason": "throwaway address"},
    )
    assert res.status_code == 200 and res.json()["status"] == "rejected", res.text
    again = await admin.request(
        "POST", f"/api/admin/referrals/{second.id}/review", json={"decision": "approve", "reason": "oops"}
    )
    assert again.status_code == 409
    await settle(app)
    assert await _credit(referrer) == 1000
    detail = (await admin.request("GET", f"/api/admin/referrals/{first.id}")).json()
    assert [t["action"] for t in detail["trail"]][-2:] == ["approved", "rewarded"]
    assert detail["trail"][-2]["reason"] == "known customer"
