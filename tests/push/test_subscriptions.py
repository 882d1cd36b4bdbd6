"""Subscribing and unsubscribing over HTTP: the allow-list, keys, owners, guests and their handover."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from engage.push.models import NotificationPreferences, PushSubscription
from engage.services import Services
from tests.conftest import PASSWORD
from tests.push.conftest import csrf, make_users, sign_in
from tests.push.push_service import PushService


async def test_public_key_is_the_vapid_key(http, push_services: Services) -> None:
    res = await http.get("/api/push/public-key")
    assert res.status_code == 200
    assert res.json() == {"public_key": push_services.push.public_key}


async def test_subscribe_is_idempotent_per_endpoint(
    http, push_services: Services, push_service: PushService
) -> None:
    [person] = await make_users(push_services, 1)
    await sign_in(http, person)
    device = push_service.new_subscription()
    res = await http.post("/api/push/subscriptions", json=device, headers=person.headers)
    assert res.status_code == 201, res.text
    first = res.json()
    assert first["endpoint"] == device["endpoint"] and first["id"] > 0
    res = await http.post(
        "/api/push/subscriptions",
        json={**device, "timezone": "Europe/Paris", "topics": ["offers"]},
        headers={**person.headers, "User-Agent": "Firefox/140"},
    )
    assert res.status_code == 201 and res.json()["id"] == first["id"]
    assert res.json()["user_agent"] == "Firefox/140"
    listed = (await http.get("/api/push/subscriptions", headers=person.headers)).json()
    assert [s["id"] for s in listed] == [first["id"]]
    prefs = (await http.get("/api/notifications/preferences", headers=person.headers)).json()
    assert prefs["timezone"] == "Europe/Paris" and prefs["topics"]["offers"]["push"] is True


INTERNAL_AND_TRICKS = [
    "http://127.0.0.1:6379/push/x",  # Redis on this host
    "http://localhost:5432/",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://[::1]/push/x",
    "https://fcm.googleapis.com.evil.example/fcm/send/x",
    "https://evil.example/?https://fcm.googleapis.com/fcm/send/x",
    "https://fcm.googleapis.com@evil.example/fcm/send/x",
    "https://user:pw@fcm.googleapis.com/fcm/send/x",
    "https://fcm.googleapis.com:8443/fcm/send/x",
    "http://fcm.googleapis.com/fcm/send/x",  # plain http to a real service
    "https://evilfcm.googleapis.com/fcm/send/x",
    "https://notify.windows.com/w/?token=x",  # the wildcard needs a label
    "https://fcm.googleapis.com/../internal",
    "https://fcm.googleapis.com/%2e%2e/x",
    "https://fcm.googleapis.com\\@evil.example/",
    "https://fcm.googleapis.com/fcm/send/x y",
    "https://\uff46cm.googleapis.com/fcm/send/x",  # a fullwidth f
    "file:///etc/passwd",
    "javascript:alert(1)",
    "",
    "https://" + "a" * 3000 + ".example/",
]


@pytest.mark.parametrize("endpoint", INTERNAL_AND_TRICKS)
async def test_endpoints_off_the_allow_list_are_422(
    http, push_services: Services, push_service: PushService, endpoint: str
) -> None:
    [person] = await make_users(push_services, 1)
    await sign_in(http, person)
    device = push_service.new_subscription()
    res = await http.post(
        "/api/push/subscriptions", json={**device, "endpoint": endpoint}, headers=person.headers
    )
    assert res.status_code in (400, 422), res.text  # 400: longer than the schema allows
    if res.status_code == 422:
        assert res.json()["code"] == "endpoint_not_allowed"
    async with push_services.sessionmaker() as session:
        assert (
            await session.scalar(
                select(PushSubscription.id).where(PushSubscription.owner_key == person.owner.key)
            )
            is None
        )


async def test_real_push_services_are_allowed(
    http, push_services: Services, push_service: PushService
) -> None:
    [person] = await make_users(push_services, 1)
    await sign_in(http, person)
    keys = push_service.new_subscription()["keys"]
    for endpoint in (
        "https://fcm.googleapis.com/fcm/send/dXk1:APA91bF",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAAA",
        "https://web.push.apple.com/QGuQyavXutnMH",
        "https://wns2-by3p.notify.windows.com/w/?token=BQYAAAD",
    ):
        res = await http.post(
            "/api/push/subscriptions", json={"endpoint": endpoint, "keys": keys}, headers=person.headers
        )
        assert res.status_code == 201, (endpoint, res.text)


@pytest.mark.parametrize(
    "keys",
    [
        {"p256dh": "not base64!", "auth": "AAAAAAAAAAAAAAAAAAAAAA"},
        {"p256dh": "BAAA", "auth": "AAAAAAAAAAAAAAAAAAAAAA"},
        {"p256dh": "B" + "A" * 86, "auth": "AAAAAAAAAAAAAAAAAAAAAA"},  # 65 bytes, not on the curve
        {"p256dh": None, "auth": "x"},
    ],
)
async def test_unusable_keys_are_refused(
    http, push_services: Services, push_service: PushService, keys: dict[str, Any]
) -> None:
    [person] = await make_users(push_services, 1)
    await sign_in(http, person)
    device = push_service.new_subscription()
    good = device["keys"]
    body = {**device, "keys": {**good, **keys}}
    res = await http.post("/api/push/subscriptions", json=body, headers=person.headers)
    assert res.status_code in (400, 422), res.text
    bad_auth = {**device, "keys": {**good, "auth": "AAAA"}}
    assert (
        await http.post("/api/push/subscriptions", json=bad_auth, headers=person.headers)
    ).status_code == 422


async def test_a_stale_server_key_is_409(http, push_services: Services, push_service: PushService) -> None:
    [person] = await make_users(push_services, 1)
    await sign_in(http, person)
    device = push_service.new_subscription()
    res = await http.post(
        "/api/push/subscriptions", json={**device, "applicationServerKey": "BOld"}, headers=person.headers
    )
    assert res.status_code == 409 and res.json()["public_key"] == push_services.push.public_key


async def test_only_the_owner_unsubscribes(http, push_services: Services, push_service: PushService) -> None:
    alice, bob = await make_users(push_services, 2)
    await sign_in(http, alice)
    await sign_in(http, bob)
    device = push_service.new_subscription()
    sub = (await http.post("/api/push/subscriptions", json=device, headers=alice.headers)).json()
    assert (await http.delete(f"/api/push/subscriptions/{sub['id']}", headers=bob.headers)).status_code == 404
    assert (await http.delete("/api/push/subscriptions/999999999", headers=alice.headers)).status_code == 404
    assert (
        await http.delete(f"/api/push/subscriptions/{sub['id']}", headers=alice.headers)
    ).status_code == 204
    assert (
        await http.delete(f"/api/push/subscriptions/{sub['id']}", headers=alice.headers)
    ).status_code == 404
    again = (await http.post("/api/push/subscriptions", json=device, headers=alice.headers)).json()
    res = await http.delete(
        "/api/push/subscriptions", params={"endpoint": device["endpoint"]}, headers=bob.headers
    )
    assert res.status_code == 404
    res = await http.delete(
        "/api/push/subscriptions", params={"endpoint": device["endpoint"]}, headers=alice.headers
    )
    assert res.status_code == 204
    assert (await http.get("/api/push/subscriptions", headers=alice.headers)).json() == []
    assert again["endpoint"] == device["endpoint"]


async def test_a_guests_devices_and_choices_follow_them_at_sign_in(
    browser_for, push_services: Services, push_service: PushService
) -> None:
    browser = await browser_for()
    device = push_service.new_subscription()
    res = await browser.post(
        "/api/push/subscriptions", json={**device, "timezone": "Asia/Tokyo"}, headers=csrf(browser)
    )
    assert res.status_code == 201, res.text
    sub_id = res.json()["id"]
    res = await browser.put(
        "/api/notifications/preferences",
        json={"topics": {"offers": {"push": True}}, "quiet_hours": {"start": "22:00", "end": "07:00"}},
        headers=csrf(browser),
    )
    assert res.status_code == 200, res.text
    assert res.json()["owner"] == "guest"
    res = await browser.post(f"/api/flash-sales/{10**9}/reminders", headers=csrf(browser))
    assert res.status_code == 404

    [person] = await make_users(push_services, 1)
    res = await browser.post(
        "/api/auth/login", json={"email": person.email, "password": PASSWORD}, headers=csrf(browser)
    )
    assert res.status_code == 200, res.text
    async with push_services.sessionmaker() as session:
        row = await session.get(PushSubscription, sub_id)
        assert row is not None and (row.owner_key, row.user_id) == (person.owner.key, person.user_id)
        prefs = await session.get(NotificationPreferences, person.owner.key)
        assert prefs is not None and prefs.offers_push and prefs.timezone == "Asia/Tokyo"
        assert (prefs.quiet_start_minute, prefs.quiet_end_minute) == (22 * 60, 7 * 60)
    mine = (await browser.get("/api/push/subscriptions")).json()
    assert [s["id"] for s in mine] == [sub_id]


async def test_renewal_from_the_service_worker_keeps_the_owner(
    http, push_services: Services, push_service: PushService
) -> None:
    [person] = await make_users(push_services, 1)
    await sign_in(http, person)
    old = push_service.new_subscription()
    await http.post("/api/push/subscriptions", json=old, headers=person.headers)
    new = push_service.new_subscription()
    res = await http.post(
        "/api/push/subscriptions/renew", json={"old_endpoint": old["endpoint"], "subscription": new}
    )
    assert res.status_code == 201, res.text
    listed = (await http.get("/api/push/subscriptions", headers=person.headers)).json()
    assert [s["endpoint"] for s in listed] == [new["endpoint"]]
    res = await http.post(
        "/api/push/subscriptions/renew", json={"old_endpoint": old["endpoint"], "subscription": new}
    )
    assert res.status_code == 404


async def test_anonymous_api_clients_cannot_subscribe(http, push_service: PushService) -> None:
    res = await http.post("/api/push/subscriptions", json=push_service.new_subscription())
    assert res.status_code in (201, 401)  # an API client without cookies is a fresh guest at most
