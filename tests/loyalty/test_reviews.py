"""Product reviews and the review bonus: only buyers review, once per product (also when they race), may
change or delete theirs; bad input is a 4xx naming the field; staff hide with a reason the author sees; the
bonus is given once per product, taken back when the review is hidden or deleted, and never given twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from commerce.reviews import Review
from engage import loyalty
from engage.loyalty.models import LedgerEntry
from engage.platform.clock import utcnow
from engage.platform.identity import Role
from tests.loyalty.conftest import buy, make_user, product, services_of, set_rules, settle, test_rules


async def _page(app, handle: str, shopper=None) -> dict:  # type: ignore[no-untyped-def]
    res = await (
        shopper.request("GET", f"/api/products/{handle}/reviews")
        if shopper
        else app.get(f"/api/products/{handle}/reviews")
    )
    assert res.status_code == 200, res.text
    return res.json()


async def _review_entries(app, user_id: int) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    async with services_of(app).sessionmaker() as session:
        rows = await session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.user_id == user_id, LedgerEntry.key.like("review:%"))
            .order_by(LedgerEntry.id)
        )
        return [(e.kind, e.amount) for e in rows]


async def test_only_buyers_review_once_per_product_and_may_change_or_delete_it(app) -> None:  # type: ignore[no-untyped-def]
    await set_rules(app, test_rules())
    item = await product(app, price=1800)
    _, _, buyer = await make_user(app)
    _, _, stranger = await make_user(app)
    _, paid = await buy(app, buyer, item.variants[0].id)
    assert paid.json()["status"] == "paid", paid.text
    mine = f"/api/products/{item.handle}/reviews/mine"

    res = await stranger.request("PUT", mine, json={"rating": 5})
    assert res.status_code == 409 and res.json()["code"] == "not_bought", res.text
    assert (await app.put(mine, json={"rating": 5})).status_code == 401
    for bad, field in (
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": 3, "title": "x" * 121}, "title"),
    ):
        res = await buyer.request("PUT", mine, json=bad)
        assert res.status_code == 400 and field in res.text, res.text
    res = await buyer.request("PUT", "/api/products/no-such-thing/reviews/mine", json={"rating": 4})
    assert res.status_code == 404, res.text
    assert (await stranger.request("GET", f"/api/products/{item.handle}/reviews")).json()[
        "can_review"
    ] is False

    res = await buyer.request("PUT", mine, json={"rating": 4, "title": " Warm ", "body": "Kept me dry."})
    assert res.status_code == 200, res.text
    assert (res.json()["title"], res.json()["verified"]) == ("Warm", True)
    page = await _page(app, item.handle)
    assert (page["count"], page["average"], page["by_rating"]["4"]) == (1, 4.0, 1)
    assert page["mine"] is None and page["reviews"][0]["body"] == "Kept me dry."

    answers = await asyncio.gather(*(buyer.request("PUT", mine, json={"rating": 5}) for _ in range(5)))
    assert [r.status_code for r in answers] == [200] * 5
    page = await _page(app, item.handle, buyer)
    assert (page["count"], page["average"], page["mine"]["rating"], page["can_review"]) == (1, 5.0, 5, True)

    assert (await buyer.request("DELETE", mine)).status_code == 204
    assert (await _page(app, item.handle))["count"] == 0
    assert (await buyer.request("DELETE", mine)).status_code == 404
    assert (await _page(app, item.handle, buyer))["mine"] is None
    assert (await buyer.request("PUT", mine, json={"rating": 3})).status_code == 200  # written again
    page = await _page(app, item.handle)
    assert (page["count"], page["reviews"][0]["body"]) == (1, "")


async def test_staff_hide_a_review_and_the_bonus_follows_it_once(app) -> None:  # type: ignore[no-untyped-def]
    await set_rules(app, test_rules(bonus_review=40))
    first, second = await product(app, price=1500), await product(app, price=900)
    user_id, _, buyer = await make_user(app)
    _, _, agent = await make_user(app, Role.agent)
    for item in (first, second):
        _, paid = await buy(app, buyer, item.variants[0].id)
        assert paid.json()["status"] == "paid", paid.text

    res = await buyer.request("PUT", f"/api/products/{first.handle}/reviews/mine", json={"rating": 2})
    review_id = res.json()["id"]
    await settle(app)
    async with services_of(app).sessionmaker() as session:  # the event twice, and the sweep: still once
        for _ in range(2):
            await loyalty.settle_review(session, user_id, first.id)
    assert await _review_entries(app, user_id) == [("earned", 40)]

    moderation = f"/api/staff/reviews/{review_id}/moderation"
    assert (await buyer.request("POST", moderation, json={"status": "hidden"})).status_code == 403
    res = await agent.request("POST", moderation, json={"status": "hidden", "note": "names another shop"})
    assert res.status_code == 200 and res.json()["status"] == "hidden", res.text
    await settle(app)
    assert (await _page(app, first.handle))["count"] == 0
    own = (await _page(app, first.handle, buyer))["mine"]
    assert (own["status"], own["moderation_note"]) == ("hidden", "names another shop")
    assert await _review_entries(app, user_id) == [("earned", 40), ("reversed", -40)]
    listed = (await agent.request("GET", "/api/staff/reviews?status=hidden")).json()
    assert review_id in [r["id"] for r in listed]

    res = await agent.request("POST", moderation, json={"status": "published"})
    assert res.status_code == 200 and res.json()["moderation_note"] == "", res.text
    await settle(app)
    assert (await _page(app, first.handle))["count"] == 1
    assert await _review_entries(app, user_id) == [("earned", 40), ("reversed", -40)], "never given twice"

    mine = f"/api/products/{second.handle}/reviews/mine"
    assert (await buyer.request("PUT", mine, json={"rating": 5})).status_code == 200
    await settle(app)
    assert (await buyer.request("DELETE", mine)).status_code == 204
    await settle(app)
    assert await _review_entries(app, user_id) == [("earned", 40), ("reversed", -40)] * 2
    async with services_of(app).sessionmaker() as session:
        assert await loyalty.check_ledger(session) == []
        kept = (
            await session.execute(
                select(Review.product_id, Review.status, Review.body).where(Review.user_id == user_id)
            )
        ).all()
        assert sorted(kept) == sorted([(first.id, "published", ""), (second.id, "deleted", "")])
        # the sweep sees the deleted one too (the bonus of a deletion whose event was lost is taken back)
        assert (user_id, second.id) in await loyalty.reviews_to_sweep(session, utcnow() - timedelta(hours=1))
