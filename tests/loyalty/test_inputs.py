"""Every loyalty, referral and leaderboard endpoint: who may call it, and no input gives a 500."""

from __future__ import annotations

from typing import Any

from engage.platform.identity import Role
from tests.loyalty.conftest import make_user

GARBAGE: list[Any] = [
    None,
    {},
    [],
    "x",
    12,
    {"points": -1},
    {"points": "a lot"},
    {"points": 10**30},
    {"use_credit": "yes"},
    {"month": 2, "day": 30},
    {"month": 13, "day": 1},
    {"display_name": "x" * 500},
    {"display_name": "\u0000\u202e"},
    {"user_id": 10**12, "amount": 5, "reason": "why not", "key": "k"},
    {"user_id": 1, "amount": 0, "reason": "zero", "key": "k"},
    {"decision": "maybe", "reason": "hmm"},
    {"decision": "approve", "reason": "nul \u0000 here"},
    {"user_id": 1, "amount": 5, "reason": "nul \u0000", "key": "k\u0000"},
    {"user_id": 1, "amount": 5, "reason": "a fine reason", "key": "k\u0000"},
    {"name": "nul\u0000", "metric": "points_earned", "period": "all_time"},
    {"tiers": [{"name": "\u0000", "threshold": 0, "points_per_unit": 1}]},
    {"name": "", "metric": "points_earned", "period": "all_time"},
    {"name": "x", "metric": "points_earned", "period": "range", "starts_at": "not a date"},
    {
        "name": "x",
        "metric": "points_earned",
        "period": "range",
        "starts_at": "2026-01-01T00:00:00",
        "ends_at": "2026-02-01T00:00:00",
    },
    {"tiers": [{"name": "A", "threshold": 5, "points_per_unit": 1}]},
    {"tiers": "gold"},
    {"redeem_points_per_unit": 0},
]

SHOPPER_ROUTES = [
    ("GET", "/api/loyalty"),
    ("GET", "/api/loyalty/ledger?limit=0"),
    ("GET", "/api/loyalty/ledger?unit=gold&before=-1"),
    ("PUT", "/api/loyalty/birthday"),
    ("PUT", "/api/loyalty/checkouts/nope"),
    ("PUT", "/api/loyalty/checkouts/" + "x" * 300),
    ("GET", "/api/store-credit"),
    ("GET", "/api/referrals/me"),
    ("GET", "/api/leaderboards/profile"),
    ("PUT", "/api/leaderboards/profile"),
]
PUBLIC_ROUTES = [
    ("GET", "/api/leaderboards"),
    ("GET", "/api/leaderboards?flash_sale_id=abc"),
    ("GET", "/api/leaderboards/0"),
    ("GET", "/api/leaderboards/99999999999999999999"),
    ("GET", "/r/not-a-code!"),
    ("GET", "/r/" + "A" * 200),
    ("GET", "/leaderboards/424242"),
]
ADMIN_ROUTES = [
    ("GET", "/api/admin/loyalty/rules"),
    ("PUT", "/api/admin/loyalty/rules"),
    ("POST", "/api/admin/loyalty/adjustments"),
    ("GET", "/api/admin/loyalty/members/999999"),
    ("GET", "/api/admin/loyalty/liability?unit=yen"),
    ("GET", "/api/admin/referrals?status=lost"),
    ("GET", "/api/admin/referrals/999999"),
    ("POST", "/api/admin/referrals/999999/review"),
]
MARKETER_ROUTES = [
    ("GET", "/api/admin/leaderboards"),
    ("POST", "/api/admin/leaderboards"),
    ("PUT", "/api/admin/leaderboards/999999"),
    ("GET", "/api/admin/leaderboards/999999"),
    ("POST", "/api/admin/leaderboards/999999/rebuild"),
]


async def _each(shopper, routes) -> list[tuple[str, str, Any, int]]:  # type: ignore[no-untyped-def]
    seen = []
    for method, path in routes:
        bodies = GARBAGE if method in ("PUT", "POST") else [None]
        for body in bodies:
            res = (
                await shopper.request(method, path, json=body)
                if body is not None
                else await shopper.request(method, path)
            )
            seen.append((method, path, body, res.status_code))
    return seen


async def test_no_input_gives_a_server_error(app) -> None:  # type: ignore[no-untyped-def]
    _, _, admin = await make_user(app, Role.admin)
    _, _, customer = await make_user(app)
    seen = await _each(admin, SHOPPER_ROUTES + PUBLIC_ROUTES + ADMIN_ROUTES + MARKETER_ROUTES)
    seen += await _each(customer, SHOPPER_ROUTES + PUBLIC_ROUTES)
    errors = [s for s in seen if s[3] >= 500]
    assert not errors, errors


async def test_who_may_call_what(app) -> None:  # type: ignore[no-untyped-def]
    _, _, customer = await make_user(app)
    _, _, marketer = await make_user(app, Role.marketer)
    for method, path in [*SHOPPER_ROUTES[:3], ("GET", "/api/store-credit"), ("GET", "/api/referrals/me")]:
        res = await app.request(method, path)
        assert res.status_code == 401, (method, path, res.status_code)
    for method, path in ADMIN_ROUTES:
        assert (await customer.request(method, path, json={})).status_code == 403, path
        assert (await marketer.request(method, path, json={})).status_code == 403, path
    for method, path in MARKETER_ROUTES:
        assert (await customer.request(method, path, json={})).status_code == 403, path
    res = await app.get("/account/rewards", follow_redirects=False)
    assert res.status_code in (302, 303) and "/login" in res.headers["location"]
