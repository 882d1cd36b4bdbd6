"""Web Push delivery against a real push service on 127.0.0.1 (tests/push/push_service.py): no mocks.

The service checks every VAPID token (ES256 signature, aud, exp) and decrypts every body with the
browser-side keys it made for the subscription, so an accepted delivery proves signing and encryption.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from py_vapid import jwt as py_vapid_jwt

from engage.push.delivery import (
    DEFAULT_ALLOWED_ENDPOINTS,
    MAX_PAYLOAD_BYTES,
    DeliveryOutcome,
    InvalidSubscription,
    PayloadTooLarge,
    PushMessage,
    PushSender,
    PushTarget,
    backoff_delay,
    encrypt_payload,
    endpoint_allowed,
    origin_of,
    parse_retry_after,
)
from engage.push.vapid import (
    VapidKeys,
    VapidSigner,
    generate_keys,
    keys_from_text,
    keys_to_text,
    load_or_create,
    rotate,
)
from tests.push.push_service import PushService

ROOT = Path(__file__).resolve().parents[2]
SUBJECT = "mailto:ops@shop.example"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A settable clock for the signer: no sleeps."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def claims_of(authorization: str) -> dict[str, Any]:
    """The verified claims of a `vapid t=..., k=...` header (py_vapid's verifier, not ours)."""
    params = dict(part.strip().split("=", 1) for part in authorization.removeprefix("vapid ").split(","))
    claims: dict[str, Any] = py_vapid_jwt.decode(params["t"], params["k"])
    return claims


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    async with PushService() as service:
        yield service


@pytest.fixture(scope="module")
def keys() -> VapidKeys:
    return generate_keys()


@pytest.fixture
async def sender(push_service: PushService, keys: VapidKeys) -> AsyncIterator[PushSender]:
    signer = VapidSigner(keys, SUBJECT)
    async with PushSender(
        signer, allowed_endpoints=[*DEFAULT_ALLOWED_ENDPOINTS, push_service.allowed_prefix]
    ) as s:
        yield s


def target(subscription: dict[str, Any]) -> PushTarget:
    return PushTarget.from_subscription(subscription)


# -- delivery ---------------------------------------------------------------------------------------------


async def test_accepted_delivery_decrypts_to_exactly_the_payload(
    push_service: PushService, sender: PushSender
) -> None:
    subscription = push_service.new_subscription()
    payload = bytes(range(256)) + "déjà vu €".encode()
    result = await sender.send(target(subscription), PushMessage(payload, ttl=600))
    assert result.outcome is DeliveryOutcome.ACCEPTED and result.status == 201 and result.accepted
    [delivery] = await push_service.wait_for(1)
    assert delivery.plaintext == payload
    assert delivery.subscription_id == push_service.id_of(subscription["endpoint"])


async def test_json_payload_and_largest_payload(push_service: PushService, sender: PushSender) -> None:
    subscription = push_service.new_subscription()
    data = {"message_id": "m-1", "title": "Flash sale", "body": "Umbrellas -30 %, déjà vu", "url": "/sales/7"}
    largest = os.urandom(MAX_PAYLOAD_BYTES)
    assert (await sender.send(target(subscription), PushMessage.json(data))).accepted
    assert (await sender.send(target(subscription), PushMessage(largest))).accepted
    first, second = await push_service.wait_for(2)
    assert first.json == data and first.message_id == "m-1"
    assert second.plaintext == largest


async def test_push_without_payload(push_service: PushService, sender: PushSender) -> None:
    subscription = push_service.new_subscription()
    assert (await sender.send(target(subscription), PushMessage(b""))).accepted
    [delivery] = await push_service.wait_for(1)
    assert delivery.plaintext == b""


async def test_ttl_urgency_and_topic_headers_arrive(push_service: PushService, sender: PushSender) -> None:
    subscription = push_service.new_subscription()
    await sender.send(target(subscription), PushMessage(b"a", ttl=3600, urgency="high", topic="sale-7_A"))
    await sender.send(target(subscription), PushMessage(b"b"))
    await sender.send(target(subscription), PushMessage(b"c", ttl=0, urgency="very-low"))
    a, b, c = await push_service.wait_for(3)
    assert (a.ttl, a.urgency, a.topic) == (3600, "high", "sale-7_A")
    assert (b.ttl, b.urgency, b.topic) == (24 * 3600, "normal", None)  # never 0 unless asked
    assert (c.ttl, c.urgency, c.topic) == (0, "very-low", None)


async def test_many_concurrent_sends_arrive_once_each(push_service: PushService, sender: PushSender) -> None:
    subscriptions = [push_service.new_subscription() for _ in range(20)]
    messages = [PushMessage.json({"message_id": n, "n": n}) for n in range(200)]
    results = await asyncio.gather(
        *(sender.send(target(subscriptions[n % 20]), message) for n, message in enumerate(messages))
    )
    assert all(result.accepted for result in results)
    deliveries = await push_service.wait_for(200)
    assert sorted(d.json["n"] for d in deliveries) == list(range(200))
    assert push_service.duplicate_count == 0


async def test_the_service_counts_duplicates(push_service: PushService, sender: PushSender) -> None:
    subscription = push_service.new_subscription()
    message = PushMessage.json({"message_id": "same"})
    for _ in range(3):
        await sender.send(target(subscription), message)
    await push_service.wait_for(3)
    assert push_service.duplicates == {(push_service.id_of(subscription["endpoint"]), "same"): 2}


# -- outcomes ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("behaviour, status", [("gone404", 404), ("gone410", 410)])
async def test_expired_subscription_is_gone(
    push_service: PushService, sender: PushSender, behaviour: str, status: int
) -> None:
    result = await sender.send(target(push_service.new_subscription(behaviour)), PushMessage(b"x"))
    assert (result.outcome, result.status) == (DeliveryOutcome.GONE, status)


async def test_unknown_subscription_is_gone(push_service: PushService, sender: PushSender) -> None:
    subscription = push_service.new_subscription()
    subscription["endpoint"] = f"{push_service.allowed_prefix}no-such-id"
    result = await sender.send(target(subscription), PushMessage(b"x"))
    assert (result.outcome, result.status) == (DeliveryOutcome.GONE, 404)


async def test_429_is_retry_with_the_retry_after_delay(push_service: PushService, sender: PushSender) -> None:
    subscription = push_service.new_subscription("retry429", failures=2, retry_after=30)
    first = await sender.send(target(subscription), PushMessage(b"x"))
    assert (first.outcome, first.status, first.retry_after_seconds) == (DeliveryOutcome.RETRY, 429, 30.0)
    assert (await sender.send(target(subscription), PushMessage(b"x"))).outcome is DeliveryOutcome.RETRY
    assert (await sender.send(target(subscription), PushMessage(b"x"))).accepted  # after N failures: ok
    assert push_service.status_counts == {429: 2, 201: 1}


async def test_429_with_an_http_date_retry_after(push_service: PushService, keys: VapidKeys) -> None:
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    later = format_datetime(clock.now + timedelta(seconds=90), usegmt=True)
    subscription = push_service.new_subscription("retry429", retry_after=later)
    allowed = [push_service.allowed_prefix]
    async with PushSender(VapidSigner(keys, SUBJECT), allowed_endpoints=allowed, clock=clock) as sender:
        result = await sender.send(target(subscription), PushMessage(b"x"))
    assert (result.outcome, result.retry_after_seconds) == (DeliveryOutcome.RETRY, 90.0)


async def test_429_without_retry_after(push_service: PushService, sender: PushSender) -> None:
    subscription = push_service.new_subscription("retry429", retry_after=None)
    result = await sender.send(target(subscription), PushMessage(b"x"))
    assert (result.outcome, result.retry_after_seconds) == (DeliveryOutcome.RETRY, None)


async def test_500_is_retry_then_ok(push_service: PushService, sender: PushSender) -> None:
    subscription = push_service.new_subscription("error500", failures=1)
    first = await sender.send(target(subscription), PushMessage(b"x"))
    assert (first.outcome, first.status, first.retry_after_seconds) == (DeliveryOutcome.RETRY, 500, None)
    assert (await sender.send(target(subscription), PushMessage(b"again"))).accepted
    [delivery] = await push_service.wait_for(1)
    assert delivery.plaintext == b"again"


@pytest.mark.parametrize(
    "behaviour, status, text",
    [
        ("too_large413", 413, "payload too large"),
        ("bad400", 400, "bad request: the push service did not like this"),
    ],
)
async def test_4xx_is_rejected_with_the_reason(
    push_service: PushService, sender: PushSender, behaviour: str, status: int, text: str
) -> None:
    result = await sender.send(target(push_service.new_subscription(behaviour)), PushMessage(b"x"))
    assert (result.outcome, result.status, result.reason) == (
        DeliveryOutcome.REJECTED,
        status,
        f"{status} {text}",
    )


async def test_network_error_is_retry(keys: VapidKeys) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subscription = {
        "endpoint": f"http://127.0.0.1:{port}/push/1",
        "keys": {"p256dh": keys.public_key, "auth": base64.urlsafe_b64encode(os.urandom(16)).decode()},
    }
    async with PushSender(
        VapidSigner(keys, SUBJECT), allowed_endpoints=[f"http://127.0.0.1:{port}/"]
    ) as sender:
        result = await sender.send(target(subscription), PushMessage(b"x"))
    assert (result.outcome, result.status) == (DeliveryOutcome.RETRY, None)
    assert result.reason.startswith("network: ")


async def test_wrong_vapid_keys_are_unauthorized(push_service: PushService, keys: VapidKeys) -> None:
    bound_to_other_keys = push_service.new_subscription(application_server_key=generate_keys().public_key)
    bound_to_ours = push_service.new_subscription(application_server_key=keys.public_key)
    allowed = [push_service.allowed_prefix]
    async with PushSender(VapidSigner(keys, SUBJECT), allowed_endpoints=allowed) as sender:
        refused = await sender.send(target(bound_to_other_keys), PushMessage(b"x"))
        assert (await sender.send(target(bound_to_ours), PushMessage(b"x"))).accepted
    assert (refused.outcome, refused.status) == (DeliveryOutcome.UNAUTHORIZED, 403)
    assert "applicationServerKey" in refused.reason


async def test_401_is_unauthorized(push_service: PushService, sender: PushSender) -> None:
    result = await sender.send(target(push_service.new_subscription("unauthorized401")), PushMessage(b"x"))
    assert (result.outcome, result.status) == (DeliveryOutcome.UNAUTHORIZED, 401)


async def test_an_expired_token_is_refused_by_the_service(push_service: PushService, keys: VapidKeys) -> None:
    stale = Clock(datetime.now(UTC) - timedelta(hours=13))  # its 12-hour tokens expired an hour ago
    allowed = [push_service.allowed_prefix]
    async with PushSender(VapidSigner(keys, SUBJECT, clock=stale), allowed_endpoints=allowed) as sender:
        result = await sender.send(target(push_service.new_subscription()), PushMessage(b"x"))
    assert (result.outcome, result.status, result.reason) == (
        DeliveryOutcome.UNAUTHORIZED,
        401,
        "401 token expired",
    )


# -- VAPID ------------------------------------------------------------------------------------------------


async def test_the_token_is_reused_per_origin_and_differs_between_origins(
    push_service: PushService, sender: PushSender, keys: VapidKeys
) -> None:
    async with PushService() as other_service:
        prefixes = [push_service.allowed_prefix, other_service.allowed_prefix]
        async with PushSender(VapidSigner(keys, SUBJECT), allowed_endpoints=prefixes) as one_sender:
            for service in (push_service, other_service, push_service, other_service):
                assert (await one_sender.send(target(service.new_subscription()), PushMessage(b"x"))).accepted
        first, third = await push_service.wait_for(2)
        second, fourth = await other_service.wait_for(2)
    assert first.authorization == third.authorization
    assert second.authorization == fourth.authorization
    assert first.authorization != second.authorization
    assert claims_of(first.authorization)["aud"] == push_service.origin
    assert claims_of(second.authorization)["aud"] == other_service.origin


def test_token_claims(keys: VapidKeys) -> None:
    signer = VapidSigner(keys, SUBJECT, clock=Clock(T0))
    header = signer.authorization("https://fcm.googleapis.com/fcm/send/abc:def")
    assert header.startswith("vapid t=") and header.endswith(f", k={keys.public_key}")
    claims = claims_of(header)
    assert claims == {
        "aud": "https://fcm.googleapis.com",
        "exp": int((T0 + timedelta(hours=12)).timestamp()),
        "sub": SUBJECT,
    }
    assert signer.authorization("https://fcm.googleapis.com/wp/other") == header  # same origin: same token
    assert (
        claims_of(signer.authorization("https://push.example:8443/x"))["aud"] == "https://push.example:8443"
    )


def test_a_token_close_to_expiry_is_renewed(keys: VapidKeys) -> None:
    clock = Clock(T0)
    signer = VapidSigner(keys, SUBJECT, clock=clock)
    endpoint = "https://updates.push.services.mozilla.com/wpush/v2/abc"
    first = signer.authorization(endpoint)
    clock.now = T0 + timedelta(hours=10, minutes=59)  # 1 h 1 min left: still good
    assert signer.authorization(endpoint) == first
    clock.now = T0 + timedelta(hours=11, seconds=1)  # under an hour left: a new one
    renewed = signer.authorization(endpoint)
    assert renewed != first
    assert claims_of(renewed)["exp"] == int((clock.now + timedelta(hours=12)).timestamp())


def test_signer_refuses_bad_settings(keys: VapidKeys) -> None:
    with pytest.raises(ValueError, match="mailto"):
        VapidSigner(keys, "ops@shop.example")
    with pytest.raises(ValueError, match="24 hours"):
        VapidSigner(keys, SUBJECT, lifetime=timedelta(hours=25))
    assert VapidSigner(keys, "https://shop.example/contact").subject == "https://shop.example/contact"


def test_signers_never_share_tokens(keys: VapidKeys) -> None:
    # two signers with the same keys (and no shared claims dict): each token carries its own subject
    a = VapidSigner(keys, "mailto:a@shop.example", clock=Clock(T0))
    b = VapidSigner(keys, "mailto:b@shop.example", clock=Clock(T0))
    url = "https://web.push.apple.com/QGx"
    assert claims_of(a.authorization(url))["sub"] == "mailto:a@shop.example"
    assert claims_of(b.authorization(url))["sub"] == "mailto:b@shop.example"


# -- keys -------------------------------------------------------------------------------------------------


def test_keys_round_trip_through_text_and_pem(keys: VapidKeys) -> None:
    text = keys_to_text(keys)
    assert len(text) == 43 and "=" not in text
    assert keys_from_text(text) == keys
    assert keys_from_text(keys.private_pem.decode()) == keys
    der = keys.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert (
        keys_from_text(base64.urlsafe_b64encode(der).decode().rstrip("=")) == keys
    )  # py_vapid's string form
    point = base64.urlsafe_b64decode(keys.public_key + "=")
    assert len(point) == 65 and point[0] == 4
    assert keys_to_text(keys) not in repr(keys)
    for garbage in ("", "not base64!", "AAAA"):
        with pytest.raises(ValueError):
            keys_from_text(garbage)


def test_load_or_create_makes_a_private_file_once(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "vapid.key"
    created = load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create(path) == created
    assert keys_from_text(path.read_text()) == created
    assert [p.name for p in path.parent.iterdir()] == ["vapid.key"]  # no temp file left


def test_racing_threads_get_the_same_keys(tmp_path: Path) -> None:
    path = tmp_path / "vapid.key"
    barrier = threading.Barrier(8)
    found: list[VapidKeys] = []

    def racer() -> None:
        barrier.wait()
        found.append(load_or_create(path))

    threads = [threading.Thread(target=racer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 8 and len(set(found)) == 1
    assert keys_from_text(path.read_text()) == found[0]


@pytest.mark.slow
def test_racing_processes_get_the_same_keys(tmp_path: Path) -> None:
    path, go = tmp_path / "vapid.key", tmp_path / "go"
    script = (
        "import sys, time; from pathlib import Path\n"
        "from engage.push.vapid import keys_to_text, load_or_create\n"
        "while not Path(sys.argv[2]).exists(): time.sleep(0.001)\n"
        "print(keys_to_text(load_or_create(Path(sys.argv[1]))))\n"
    )
    racers = [
        subprocess.Popen([sys.executable, "-c", script, str(path), str(go)], cwd=ROOT, stdout=subprocess.PIPE)
        for _ in range(4)
    ]
    go.touch()
    outputs = {racer.communicate(timeout=60)[0].decode().strip() for racer in racers}
    assert all(racer.returncode == 0 for racer in racers)
    assert outputs == {path.read_text().strip()}


def test_rotate_replaces_the_keys_and_keeps_the_previous(tmp_path: Path) -> None:
    path = tmp_path / "vapid.key"
    old = load_or_create(path)
    new = rotate(path)
    assert new != old
    assert load_or_create(path) == new
    assert keys_from_text((tmp_path / "vapid.key.previous").read_text()) == old
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "vapid.key.previous").stat().st_mode) == 0o600


# -- messages and targets ---------------------------------------------------------------------------------


async def test_a_payload_too_large_is_refused_before_sending(
    push_service: PushService, keys: VapidKeys
) -> None:
    with pytest.raises(PayloadTooLarge, match="3994 bytes"):
        PushMessage(b"x" * (MAX_PAYLOAD_BYTES + 1))
    with pytest.raises(PayloadTooLarge):
        PushMessage.json({"body": "x" * MAX_PAYLOAD_BYTES})
    with pytest.raises(PayloadTooLarge):
        encrypt_payload(target(push_service.new_subscription()), b"x" * (MAX_PAYLOAD_BYTES + 1))
    assert push_service.requests == []


@pytest.mark.parametrize("topic", ["", "x" * 33, "has space", "dot.ted", "plus+", "slash/", "ünï"])
def test_bad_topics_are_refused(topic: str) -> None:
    with pytest.raises(ValueError, match="topic"):
        PushMessage(b"x", topic=topic)


def test_bad_messages_are_refused() -> None:
    assert PushMessage(b"x", topic="A" * 32).topic == "A" * 32
    with pytest.raises(ValueError, match="urgency"):
        PushMessage(b"x", urgency="urgent")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ttl"):
        PushMessage(b"x", ttl=-1)
    with pytest.raises(TypeError):
        PushMessage("text")  # type: ignore[arg-type]


def test_bad_subscriptions_are_refused(push_service: PushService) -> None:
    good = push_service.new_subscription()
    keys = good["keys"]
    bad: list[dict[str, Any]] = [
        {"endpoint": good["endpoint"]},
        {"endpoint": "ftp://x/y", "keys": keys},
        {**good, "keys": {**keys, "auth": base64.urlsafe_b64encode(os.urandom(15)).decode()}},
        {**good, "keys": {**keys, "p256dh": keys["p256dh"][:-4]}},
        {**good, "keys": {**keys, "p256dh": base64.urlsafe_b64encode(b"\x04" + b"\x01" * 64).decode()}},
        {**good, "keys": {**keys, "p256dh": "%%%"}},
    ]
    for subscription in bad:
        with pytest.raises(InvalidSubscription):
            target(subscription)


# -- where we may send ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/dXk:APA91b",
        "https://fcm.googleapis.com/wp/abc",
        "https://FCM.googleapis.com:443/fcm/send/x",
        "https://android.googleapis.com/gcm/send/x",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
        "https://web.push.apple.com/QGx1Q",
        "https://wns2-par02p.notify.windows.com/w/?token=BQYAAA",
        "https://db5p.notify.windows.com/w/?token=x",
    ],
)
def test_real_push_services_are_allowed(endpoint: str) -> None:
    assert endpoint_allowed(endpoint, DEFAULT_ALLOWED_ENDPOINTS)


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com.evil.com/fcm/send/x",  # a longer host
        "https://evilfcm.googleapis.com/x",
        "https://fcm.googleapis.com@evil.com/x",  # userinfo
        "https://fcm.googleapis.com:x@evil.com/x",
        "https://user@fcm.googleapis.com/x",
        "https://fcm.googleapis.com\\@evil.com/x",
        "http://fcm.googleapis.com/fcm/send/x",  # plain http
        "https://fcm.googleapis.com:8443/x",  # another port
        "https://notify.windows.com/w/x",  # the wildcard needs a label
        "https://.notify.windows.com/w/x",
        "https://notify.windows.com.evil.com/w/x",
        "https://evil.com/?https://fcm.googleapis.com/",
        "https://evil.com#https://fcm.googleapis.com/",
        "https://fcm.googleapis.com%2eevil.com/x",
        "https://fcm.googleapis.com /x",
        "ftp://fcm.googleapis.com/x",
        "//fcm.googleapis.com/x",
        "fcm.googleapis.com/x",
        "https://127.0.0.1/x",
        "https://fcm.googleapis.com:99999/x",
        "",
    ],
)
def test_tricks_are_not_allowed(endpoint: str) -> None:
    assert not endpoint_allowed(endpoint, DEFAULT_ALLOWED_ENDPOINTS)


def test_prefixes_with_a_path_port_or_plain_http() -> None:
    prefixes = ["http://127.0.0.1:8080/push/", "https://push.example/v1"]
    assert endpoint_allowed("http://127.0.0.1:8080/push/abc", prefixes)
    assert not endpoint_allowed("http://127.0.0.1:8081/push/abc", prefixes)
    assert not endpoint_allowed("http://127.0.0.1:8080/pushy/abc", prefixes)
    assert not endpoint_allowed("http://127.0.0.1:8080/push/../_control/stats", prefixes)
    assert not endpoint_allowed("http://127.0.0.1:8080/push/%2e%2e/_control/stats", prefixes)
    assert not endpoint_allowed("https://127.0.0.1:8080/push/abc", prefixes)
    assert endpoint_allowed("https://push.example/v1/abc", prefixes)
    assert endpoint_allowed("https://push.example/v1", prefixes)
    assert not endpoint_allowed("https://push.example/v10/abc", prefixes)
    assert not endpoint_allowed("https://fcm.googleapis.com/fcm/send/x", prefixes)


async def test_the_sender_does_not_send_outside_the_allow_list(
    push_service: PushService, keys: VapidKeys
) -> None:
    subscription = push_service.new_subscription()
    async with PushSender(VapidSigner(keys, SUBJECT)) as sender:  # the defaults: no loopback
        result = await sender.send(target(subscription), PushMessage(b"x"))
    assert (result.outcome, result.status) == (DeliveryOutcome.REJECTED, None)
    assert push_service.requests == []


def test_origin_of() -> None:
    assert origin_of("https://FCM.googleapis.com/fcm/send/x?y#z") == "https://fcm.googleapis.com"
    assert origin_of("https://push.example:443/x") == "https://push.example"
    assert origin_of("http://127.0.0.1:8080/push/1") == "http://127.0.0.1:8080"
    assert origin_of("http://[::1]:8080/push/1") == "http://[::1]:8080"
    with pytest.raises(ValueError):
        origin_of("mailto:ops@shop.example")


# -- retrying ---------------------------------------------------------------------------------------------


def test_parse_retry_after() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("-5") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Sun, 01 Mar 2026 12:02:30 GMT", now=T0) == 150.0
    assert parse_retry_after("Sun, 01 Mar 2026 11:00:00 GMT", now=T0) == 0.0  # in the past: now


def test_backoff_delay() -> None:
    low: Callable[[], float] = lambda: 0.0  # noqa: E731
    high: Callable[[], float] = lambda: 1.0  # noqa: E731
    assert [backoff_delay(n, random=high) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert [backoff_delay(n, random=low) for n in range(1, 4)] == [0.5, 1.0, 2.0]
    assert backoff_delay(20, random=high) == 300.0 and backoff_delay(10_000, random=high) == 300.0
    assert backoff_delay(1, retry_after=30.0, random=high) == 30.0  # Retry-After when larger
    assert backoff_delay(5, retry_after=1.0, random=high) == 16.0
    assert backoff_delay(30, retry_after=900.0) == 900.0  # even beyond the cap
    assert 0.5 <= backoff_delay(1) <= 1.0
    assert len({backoff_delay(6) for _ in range(20)}) > 1  # jitter


async def test_a_long_rejection_body_is_cut_to_200_characters(
    push_service: PushService, sender: PushSender
) -> None:
    subscription = push_service.new_subscription("bad400", answer="nope" * 100)
    result = await sender.send(target(subscription), PushMessage(b"x"))
    assert result.reason == "400 " + "nope" * 50
