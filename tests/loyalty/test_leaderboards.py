"""Leaderboards: exact ranking with ties (earlier reached ranks higher) in Redis and in memory, standings
rebuilt from the database after the store is wiped equal to the live ones, boards of each kind fed by the
sinks, and who sees what."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from redis.asyncio import Redis

from engage.leaderboards.store import MAX_EXACT, MemoryStandings, RedisStandings
from engage.loyalty import ledger
from engage.loyalty.models import Kind, Unit
from engage.platform.identity import Role
from tests.conftest import REDIS_URL
from tests.loyalty.conftest import buy, make_user, product, services_of, set_rules, settle, test_rules


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, redis_prefix: str) -> Any:
    if request.param == "memory":
        yield MemoryStandings()
        return
    redis = Redis.from_url(REDIS_URL)
    yield RedisStandings(redis, f"{redis_prefix}-store-{uuid.uuid4().hex[:6]}")
    await redis.aclose()


async def test_ties_rank_by_who_reached_first_and_large_values_stay_exact(store) -> None:  # type: ignore[no-untyped-def]
    big = MAX_EXACT // 2  # 2**52: a double's score holds it and its neighbours exactly
    t = 1_764_000_000_000
    rows = [
        (1, big, t + 5),
        (2, big, t + 1),
        (3, big - 1, t),
        (4, big, t + 1),  # same value, same millisecond as 2: the lower user id first
        (5, 7, t + 3),
        (6, 7, t + 2),
        (7, 7, t + 2),
        (8, 0, t),  # nothing: not ranked
    ]
    board = f"b{uuid.uuid4().hex[:6]}:all"
    for user, value, reached in rows:
        await store.put(board, user, value, reached)
    expected = sorted((r for r in rows if r[1] > 0), key=lambda r: (-r[1], r[2], r[0]))
    top = await store.top(board, 10)
    assert [(s.user_id, s.value, s.reached_ms) for s in top] == expected
    assert [s.rank for s in top] == list(range(1, 8))
    mine, near = await store.around(board, 6, 1)
    assert mine is not None and (mine.rank, mine.value) == (5, 7)
    assert [s.user_id for s in near] == [3, 6, 7]
    # a user moving keeps one place (the old member goes), and a value of 0 leaves the board
    await store.put(board, 5, big + 1, t + 9)
    await store.put(board, 1, 0, t + 9)
    assert [s.user_id for s in await store.top(board, 3)] == [5, 2, 4]
    assert await store.count(board) == 6
    # a rebuild with the same rows gives the same board
    again = f"{board}-rebuilt"
    await store.replace(again, [(5, big + 1, t + 9), *[r for r in rows if r[0] not in (1, 5)]], ttl=60)
    assert await store.top(again, 10) == await store.top(board, 10)
    if isinstance(store, RedisStandings):
        with pytest.raises(ValueError):
            await store.put(board, 9, MAX_EXACT, t)


async def _create_board(admin, **plan: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    res = await admin.request(
        "POST",
        "/api/admin/leaderboards",
        json={
            "name": f"Board {uuid.uuid4().hex[:6]}",
            "metric": "points_earned",
            "period": "all_time",
            **plan,
        },
    )
    assert res.status_code == 201, res.text
    return res.json()


async def _earn(app, user_id: int, amount: int) -> None:  # type: ignore[no-untyped-def]
    """Points earned (a bonus action): what a points board counts."""
    async with services_of(app).sessionmaker() as session:
        balance = await ledger.lock(session, user_id, Unit.points)
        await ledger.post(
            session, balance, kind=Kind.earned, amount=amount, key=uuid.uuid4().hex, source="action:contest"
        )
        await session.commit()


async def _standings(app, board_id: int, shopper=None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    res = await (
        shopper.request("GET", f"/api/leaderboards/{board_id}")
        if shopper
        else app.get(f"/api/leaderboards/{board_id}")
    )
    assert res.status_code == 200, res.text
    return res.json()


async def _wipe(app, board: dict[str, Any], period: str) -> None:  # type: ignore[no-untyped-def]
    """What a Redis flush (or an embedded restart) does to the board's standings."""
    await services_of(app).leaderboards.store.drop(f"{board['id']}:{period}")


async def test_a_board_rebuilt_after_the_store_is_wiped_equals_the_live_one(app) -> None:  # type: ignore[no-untyped-def]
    await set_rules(app, test_rules())
    _, _, admin = await make_user(app, Role.admin)
    board = await _create_board(admin, size=100, period="month")
    users = [await make_user(app) for _ in range(6)]
    for n, (user_id, _, _) in enumerate(users):
        await _earn(app, user_id, 10_000_000 + 100 * (n % 3))  # three pairs of equal values
    await settle(app)
    live = await _standings(app, board["id"])
    mine_live = [await _standings(app, board["id"], s) for _, _, s in users]
    ours = [e for e in live["top"] if e["value"] >= 10_000_000]
    assert len(ours) == 6
    # equal values: whoever reached it first ranks higher (users were adjusted in order)
    assert [e["token"] for e in ours] == [
        m["my_token"]
        for m in (mine_live[2], mine_live[5], mine_live[1], mine_live[4], mine_live[0], mine_live[3])
    ]

    await _wipe(app, board, live["period"])
    assert await services_of(app).leaderboards.rebuild_missing() >= 1
    assert await _standings(app, board["id"]) == live
    assert [await _standings(app, board["id"], s) for _, _, s in users] == mine_live


async def test_my_rank_neighbours_and_names(app) -> None:  # type: ignore[no-untyped-def]
    await set_rules(app, test_rules())
    _, _, admin = await make_user(app, Role.admin)
    board = await _create_board(admin, size=3)
    (a, _, alice), (b, _, bob) = await make_user(app), await make_user(app)
    await _earn(app, a, 50_000_000)
    await _earn(app, b, 50_000_001)
    res = await alice.request(
        "PUT", "/api/leaderboards/profile", json={"display_name": "Alice A", "anonymous": False}
    )
    assert res.status_code == 200, res.text
    bad = await alice.request(
        "PUT", "/api/leaderboards/profile", json={"display_name": "<b>x</b>", "anonymous": False}
    )
    assert bad.status_code == 422
    await settle(app)
    await services_of(app).leaderboards.rebuild(board["id"])  # names are read when standings are shown
    mine = await _standings(app, board["id"], alice)
    assert mine["me"]["rank"] == 2 and mine["me"]["name"] == "Alice A"
    assert [e["name"] for e in mine["top"][:2]] == ["Anonymous", "Alice A"]
    assert [n["rank"] for n in mine["neighbours"]][:2] == [1, 2]  # two above (there is one) and two below
    assert (await _standings(app, board["id"], bob))["me"]["rank"] == 1
    assert (await _standings(app, board["id"]))["me"] is None
    # hidden names
    res = await admin.request(
        "PUT",
        f"/api/admin/leaderboards/{board['id']}",
        json={**{k: board[k] for k in ("name", "metric", "period", "size")}, "show_names": False},
    )
    assert res.status_code == 200, res.text
    assert (await _standings(app, board["id"], alice))["me"]["name"] == "Anonymous"


async def test_a_category_spend_board_follows_paid_orders(app) -> None:  # type: ignore[no-untyped-def]
    await set_rules(app, test_rules())
    _, _, admin = await make_user(app, Role.admin)
    item = await product(app, price=1234, category=f"Cat {uuid.uuid4().hex[:6]}")
    assert item.category_id is not None
    board = await _create_board(admin, metric="category_spend", category_id=item.category_id, period="week")
    _, _, shopper = await make_user(app)
    _, paid = await buy(app, shopper, item.variants[0].id, 2)
    assert paid.json()["status"] == "paid"
    mine = await _standings(app, board["id"], shopper)
    assert mine["me"] is not None and (mine["me"]["rank"], mine["me"]["value"]) == (1, 2468)
    # refunded: the spend goes
    res = await admin.request("POST", f"/api/staff/orders/{paid.json()['order_number']}/refund", json={})
    assert res.status_code == 200, res.text
    await settle(app)
    assert (await _standings(app, board["id"], shopper))["me"] is None


async def test_who_may_define_and_see_boards(app) -> None:  # type: ignore[no-untyped-def]
    _, _, marketer = await make_user(app, Role.marketer)
    _, _, customer = await make_user(app)
    plan = {"name": "Top", "metric": "points_earned", "period": "all_time"}
    assert (await customer.request("POST", "/api/admin/leaderboards", json=plan)).status_code == 403
    assert (await app.post("/api/admin/leaderboards", json=plan)).status_code == 401
    for wrong in (
        {**plan, "metric": "nope"},
        {**plan, "period": "range"},
        {**plan, "period": "range", "starts_at": "2026-01-02T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z"},
        {**plan, "metric": "category_spend", "category_id": 987654321},
        {**plan, "period": "flash_sale"},
        {**plan, "size": 0},
        {**plan, "extra": 1},
    ):
        res = await marketer.request("POST", "/api/admin/leaderboards", json=wrong)
        assert res.status_code in (400, 422), (wrong, res.text)
    board = (await marketer.request("POST", "/api/admin/leaderboards", json={**plan, "active": False})).json()
    assert (await app.get(f"/api/leaderboards/{board['id']}")).status_code == 404, (
        "inactive boards are not public"
    )
    assert (await app.get("/api/leaderboards/99999999")).status_code == 404
    assert (await marketer.request("GET", f"/api/admin/leaderboards/{board['id']}")).status_code == 200
    assert (
        await marketer.request("POST", f"/api/admin/leaderboards/{board['id']}/rebuild")
    ).status_code == 200


async def test_a_referrals_board_counts_rewarded_referrals(app) -> None:  # type: ignore[no-untyped-def]
    from tests.loyalty.test_referrals import _paid_order, _referrer, _release, _sign_up

    await set_rules(app, test_rules())
    _, _, admin = await make_user(app, Role.admin)
    board = await _create_board(admin, metric="referrals_completed", period="all_time", size=100)
    _, _, referrer, code = await _referrer(app)
    for _ in range(2):
        await _paid_order(app, await _sign_up(app, code))
    assert (await _standings(app, board["id"], referrer))["me"] is None, "not before they are rewarded"
    await _release(app)
    live = await _standings(app, board["id"], referrer)
    assert live["me"]["value"] == 2
    await _wipe(app, board, live["period"])
    assert await _standings(app, board["id"], referrer) == live


async def test_a_flash_sale_board_counts_units_bought_in_the_sale(app) -> None:  # type: ignore[no-untyped-def]
    from tests.flash_sales.conftest import make_sale

    await set_rules(app, test_rules())
    _, _, admin = await make_user(app, Role.admin)
    item = await product(app, price=3000, stock=20)
    runtime = services_of(app).runtime
    sale_id = await make_sale(runtime, [item.variants[0].id], units=10, price=1500, limit=3)
    board = await _create_board(
        admin, metric="flash_sale_purchases", period="flash_sale", flash_sale_id=sale_id
    )
    _, _, shopper = await make_user(app)
    for _ in range(2):
        res = await shopper.request(
            "POST", f"/api/flash-sales/{sale_id}/claims", json={"variant_id": item.variants[0].id}
        )
        assert res.status_code == 201, res.text
    _, paid = await buy(app, shopper, item.variants[0].id, 2)
    assert paid.json()["status"] == "paid", paid.text
    await settle(app)
    mine = await _standings(app, board["id"], shopper)
    assert mine["me"] is not None and (mine["me"]["rank"], mine["me"]["value"]) == (1, 2)
    res = await app.get(f"/api/leaderboards?flash_sale_id={sale_id}")
    assert [b["id"] for b in res.json()] == [board["id"]]
