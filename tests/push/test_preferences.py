"""Preferences: defaults, partial changes, only one's own, the signed link, and the rules senders apply."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from engage.push import links, preferences
from engage.services import Services
from tests.push.conftest import make_users, sign_in


async def test_defaults_transactional_on_offers_off(http, push_services: Services) -> None:
    [person] = await make_users(push_services, 1)
    await sign_in(http, person)
    res = await http.get("/api/notifications/preferences", headers=person.headers)
    assert res.status_code == 200
    data = res.json()
    assert data["topics"]["order_updates"] == {"push": True, "email": True}
    assert data["topics"]["chat_replies"]["push"] and data["topics"]["flash_sales"]["push"]
    assert data["topics"]["offers"] == {"push": False, "email": False}
    assert (data["timezone"], data["quiet_hours"], data["marketing_unsubscribed"], data["owner"]) == (
        None,
        None,
        False,
        "user",
    )


async def test_partial_changes_and_validation(http, push_services: Services) -> None:
    [person] = await make_users(push_services, 1)
    await sign_in(http, person)
    h = person.headers
    res = await http.put(
        "/api/notifications/preferences", json={"topics": {"offers": {"push": True}}}, headers=h
    )
    assert res.status_code == 200 and res.json()["topics"]["offers"] == {"push": True, "email": False}
    res = await http.put(
        "/api/notifications/preferences",
        json={"timezone": "America/New_York", "quiet_hours": {"start": "21:30", "end": "08:00"}},
        headers=h,
    )
    assert res.json()["quiet_hours"] == {"start": "21:30", "end": "08:00"}
    assert res.json()["topics"]["offers"]["push"] is True  # untouched
    for bad in (
        {"timezone": "Mars/Olympus"},
        {"timezone": "../../etc/passwd"},
        {"quiet_hours": {"start": "25:00", "end": "07:00"}},
        {"quiet_hours": {"start": "22:00", "end": "22:00"}},
        {"topics": {"spam": {"push": True}}},
    ):
        res = await http.put("/api/notifications/preferences", json=bad, headers=h)
        assert res.status_code == 422, (bad, res.text)
    assert (
        await http.put(
            "/api/notifications/preferences", json={"topics": {"offers": {"sms": True}}}, headers=h
        )
    ).status_code == 400
    res = await http.put("/api/notifications/preferences", json={"marketing_unsubscribed": True}, headers=h)
    assert res.json()["marketing_unsubscribed"] and res.json()["topics"]["offers"]["push"] is False
    res = await http.put("/api/notifications/preferences", json={"quiet_hours": None}, headers=h)
    assert res.json()["quiet_hours"] is None and res.json()["timezone"] == "America/New_York"
    res = await http.put(
        "/api/notifications/preferences", json={"topics": {"offers": {"push": True}}}, headers=h
    )
    assert res.json()["marketing_unsubscribed"] is False, "opting in again undoes unsubscribe-from-all"


async def test_each_shopper_sees_only_their_own(http, push_services: Services) -> None:
    alice, bob = await make_users(push_services, 2)
    await sign_in(http, alice)
    await sign_in(http, bob)
    await http.put("/api/notifications/preferences", json={"timezone": "Asia/Tokyo"}, headers=alice.headers)
    assert (await http.get("/api/notifications/preferences", headers=bob.headers)).json()["timezone"] is None
    assert (await http.get("/api/notifications/preferences", headers=alice.headers)).json()[
        "timezone"
    ] == "Asia/Tokyo"


async def test_the_signed_link_works_without_signing_in_and_a_bad_one_is_403(
    http, push_services: Services
) -> None:
    [person] = await make_users(push_services, 1)
    token = links.preferences_token(push_services.push, person.owner.key)
    link = links.preferences_link(push_services.push, person.owner.key)
    assert link.startswith("https://shop.example/notifications/preferences?token=")
    res = await http.put(
        "/api/notifications/preferences", params={"token": token}, json={"marketing_unsubscribed": True}
    )
    assert res.status_code == 200, res.text
    res = await http.get("/api/notifications/preferences", params={"token": token})
    assert res.json()["marketing_unsubscribed"] is True and res.json()["owner"] == "user"
    await sign_in(http, person)
    assert (await http.get("/api/notifications/preferences", headers=person.headers)).json()[
        "marketing_unsubscribed"
    ]
    for bad in (token[:-2] + "xx", token + "a", "x" * 50, "", "é" * 10, token.replace(".", "", 1), "a" * 400):
        res = await http.get("/api/notifications/preferences", params={"token": bad})
        assert res.status_code in (400, 403), (bad, res.status_code)
    other = links.preferences_token(push_services.push, "user:0")
    assert (await http.get("/api/notifications/preferences", params={"token": other})).status_code == 200


UTC_ZONE = ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("now", "tz", "start", "end", "until"),
    [
        # 23:30 in Paris (UTC+1 in winter), quiet 22:00-07:00: until 07:00 Paris = 06:00 UTC next day
        (
            datetime(2026, 12, 3, 22, 30, tzinfo=UTC),
            "Europe/Paris",
            22 * 60,
            7 * 60,
            datetime(2026, 12, 4, 6, 0, tzinfo=UTC),
        ),
        # 05:00 in Paris: same night, until 06:00 UTC
        (
            datetime(2026, 12, 4, 4, 0, tzinfo=UTC),
            "Europe/Paris",
            22 * 60,
            7 * 60,
            datetime(2026, 12, 4, 6, 0, tzinfo=UTC),
        ),
        # 12:00 in Paris: not quiet
        (datetime(2026, 12, 4, 11, 0, tzinfo=UTC), "Europe/Paris", 22 * 60, 7 * 60, None),
        # a daytime window 13:00-15:00 New York (UTC-5)
        (
            datetime(2026, 12, 4, 18, 30, tzinfo=UTC),
            "America/New_York",
            13 * 60,
            15 * 60,
            datetime(2026, 12, 4, 20, 0, tzinfo=UTC),
        ),
        # no zone: the default (UTC)
        (
            datetime(2026, 12, 4, 23, 0, tzinfo=UTC),
            None,
            22 * 60,
            6 * 60,
            datetime(2026, 12, 5, 6, 0, tzinfo=UTC),
        ),
    ],
)
def test_quiet_hours_end(now: datetime, tz: str | None, start: int, end: int, until: datetime | None) -> None:
    assert preferences.quiet_until(now, tz, start, end, UTC_ZONE) == until


def test_the_same_local_time_everywhere() -> None:
    nine = datetime(2026, 12, 5, 9, 0)
    assert preferences.local_moment(nine, "Europe/Paris", UTC_ZONE) == datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    assert preferences.local_moment(nine, "America/New_York", UTC_ZONE) == datetime(
        2026, 12, 5, 14, 0, tzinfo=UTC
    )
    assert preferences.local_moment(nine, "Asia/Tokyo", UTC_ZONE) == datetime(2026, 12, 5, 0, 0, tzinfo=UTC)
    assert preferences.local_moment(nine, "Pacific/Kiritimati", UTC_ZONE) == datetime(
        2026, 12, 4, 19, 0, tzinfo=UTC
    )
    assert preferences.local_moment(nine, "Not/AZone", UTC_ZONE) == datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    # summer time: 09:00 in Paris in July is 07:00 UTC
    assert preferences.local_moment(datetime(2026, 7, 1, 9, 0), "Europe/Paris", UTC_ZONE) == datetime(
        2026, 7, 1, 7, 0, tzinfo=UTC
    )
