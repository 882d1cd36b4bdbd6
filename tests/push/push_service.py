"""A real Web Push service on 127.0.0.1 for tests and load tests: checks VAPID, decrypts, records.

In a test (runs in the test's event loop):

    async with PushService() as service:
        subscription = service.new_subscription()            # PushSubscription.toJSON() dict
        ...send to subscription["endpoint"]...
        [delivery] = await service.wait_for(1)
        assert delivery.plaintext == b"..."

As its own process (load tests), with a small control API:

    python -m tests.push.push_service --port 8765
    POST /_control/subscriptions {"behaviour": "ok"}  -> the subscription dict
    POST /_control/subscriptions {"count": 10000}     -> a list of that many (load tests)
    GET  /_control/stats                              -> counters
    POST /_control/reset                              -> forget deliveries and counters

Per subscription behaviours (after the VAPID check, as real services do):
    ok             201 and record the delivery
    gone404        404;  gone410  410
    retry429       429 with Retry-After for the first `failures` requests, then ok
    error500       500 for the first `failures` requests, then ok
    too_large413   413;  bad400  400 with a text body;  unauthorized401  401
Every request is also checked like a strict push service: TTL present, Urgency/Topic valid, body at most
4096 bytes (413), aes128gcm body that decrypts (400), and when the subscription was made with an
`application_server_key`, the VAPID `k=` must be that key (403, as FCM answers).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import json
import os
import re
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Self

import http_ece
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

Behaviour = Literal[
    "ok", "gone404", "gone410", "retry429", "error500", "too_large413", "bad400", "unauthorized401"
]
BEHAVIOURS: frozenset[str] = frozenset(Behaviour.__args__)  # type: ignore[attr-defined]
MAX_BODY = 4096
MAX_EXP_AHEAD = 24 * 3600
_TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")
_URGENCIES = {"very-low", "low", "normal", "high"}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Subscription:
    id: str
    behaviour: str
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)
    auth_secret: bytes = field(repr=False)
    p256dh: str
    failures_left: int = 0
    retry_after: str | None = None
    application_server_key: str | None = None
    answer: str | None = None


@dataclass(frozen=True)
class Delivery:
    """A message the service accepted (201), decrypted."""

    subscription_id: str
    plaintext: bytes
    json: Any  # the parsed plaintext, None when it is not JSON
    message_id: str | None  # "message_id" (or "id") of a JSON object payload
    ttl: int
    urgency: str | None
    topic: str | None
    authorization: str
    received_at: float  # time.time()


@dataclass(frozen=True)
class Received:
    """Any request to a push endpoint and the status it got."""

    subscription_id: str
    status: int
    authorization: str | None
    reason: str


class PushService:
    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.host = host
        self.port = port
        self.clock = clock
        self.subscriptions: dict[str, Subscription] = {}
        self.deliveries: list[Delivery] = []
        self.requests: list[Received] = []
        self.status_counts: Counter[int] = Counter()
        self.duplicates: Counter[tuple[str, str]] = Counter()  # (subscription, message id) -> extra copies
        self.record_requests = True  # False in long load runs: keeps counters only
        self._seen: set[tuple[str, str]] = set()
        self._verified: dict[str, dict[str, Any]] = {}  # "token k" -> claims: one signature check per token
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._runner: web.AppRunner | None = None
        self._next_id = 0

    # -- lifecycle ----------------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_post("/push/{id}", self._push)
        app.router.add_post("/_control/subscriptions", self._control_subscribe)
        app.router.add_get("/_control/stats", self._control_stats)
        app.router.add_post("/_control/reset", self._control_reset)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))  # port 0: the kernel picks a free one
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock, backlog=1024).start()

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        for _, waiter in self._waiters:
            if not waiter.done():
                waiter.cancel()
        self._waiters.clear()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def allowed_prefix(self) -> str:
        """What a sender's endpoint allow-list needs to reach this service."""
        return f"{self.origin}/push/"

    # -- subscriptions ------------------------------------------------------------------------------------

    def new_subscription(
        self,
        behaviour: str = "ok",
        *,
        failures: int = 1,
        retry_after: str | int | None = 7,
        application_server_key: str | None = None,
        answer: str | None = None,
    ) -> dict[str, Any]:
        """A browser-side key pair and auth secret; returns what `PushSubscription.toJSON()` gives.

        `failures`: how many requests retry429/error500 fail before answering 201.
        `retry_after`: Retry-After of retry429, seconds or an HTTP-date (None: no header).
        `application_server_key`: the VAPID public key the subscription is bound to (else any key passes).
        `answer`: the body text of the failing answers (404, 410, 429, 500, 413, 400, 401) instead of ours.
        """
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"behaviour is one of {sorted(BEHAVIOURS)}")
        self._next_id += 1
        sub_id = f"{self._next_id}-{_b64url(os.urandom(6))}"
        private_key = ec.generate_private_key(ec.SECP256R1())
        point = private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        subscription = Subscription(
            id=sub_id,
            behaviour=behaviour,
            private_key=private_key,
            auth_secret=os.urandom(16),
            p256dh=_b64url(point),
            failures_left=failures if behaviour in ("retry429", "error500") else 0,
            retry_after=None if retry_after is None else str(retry_after),
            application_server_key=application_server_key,
            answer=answer,
        )
        self.subscriptions[sub_id] = subscription
        return self.subscription_json(sub_id)

    def subscription_json(self, sub_id: str) -> dict[str, Any]:
        subscription = self.subscriptions[sub_id]
        return {
            "endpoint": f"{self.origin}/push/{sub_id}",
            "expirationTime": None,
            "keys": {"p256dh": subscription.p256dh, "auth": _b64url(subscription.auth_secret)},
        }

    @staticmethod
    def id_of(endpoint: str) -> str:
        return endpoint.rsplit("/", 1)[-1]

    # -- what arrived -------------------------------------------------------------------------------------

    def deliveries_for(self, subscription: str | dict[str, Any]) -> list[Delivery]:
        """Deliveries to one subscription, given its id or its dict."""
        sub_id = self.id_of(subscription["endpoint"]) if isinstance(subscription, dict) else subscription
        return [d for d in self.deliveries if d.subscription_id == sub_id]

    @property
    def duplicate_count(self) -> int:
        return sum(self.duplicates.values())

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Delivery]:  # noqa: ASYNC109 (the tests' API)
        """Wait until `count` deliveries in all have been accepted; returns the first `count`."""
        if self.status_counts[201] < count:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append((count, waiter))
            try:
                await asyncio.wait_for(waiter, timeout)
            except TimeoutError:
                raise TimeoutError(
                    f"{len(self.deliveries)} of {count} deliveries after {timeout} s; "
                    f"statuses so far {dict(self.status_counts)}"
                ) from None
            finally:
                if (count, waiter) in self._waiters:
                    self._waiters.remove((count, waiter))
        return self.deliveries[:count]

    def reset(self) -> None:
        self.deliveries.clear()
        self.requests.clear()
        self.status_counts.clear()
        self.duplicates.clear()
        self._seen.clear()

    def stats(self) -> dict[str, Any]:
        return {
            "deliveries": sum(n for status, n in self.status_counts.items() if status == 201),
            "requests": sum(self.status_counts.values()),
            "statuses": {str(status): n for status, n in sorted(self.status_counts.items())},
            "duplicates": self.duplicate_count,
        }

    # -- the push endpoint --------------------------------------------------------------------------------

    def _answer(
        self,
        sub_id: str,
        status: int,
        reason: str,
        authorization: str | None,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        self.status_counts[status] += 1
        if self.record_requests:
            self.requests.append(Received(sub_id, status, authorization, reason))
        return web.Response(status=status, text=reason if status >= 300 else "", headers=headers)

    def _check_vapid(
        self, authorization: str | None, subscription: Subscription | None
    ) -> tuple[int, str] | None:
        """None when the Authorization header is a valid VAPID one, else (status, reason)."""
        if not authorization:
            return 401, "missing Authorization"
        scheme, _, params = authorization.partition(" ")
        if scheme.lower() != "vapid":
            return 401, "Authorization scheme is not vapid"
        values: dict[str, str] = {}
        for part in params.split(","):
            name, _, value = part.strip().partition("=")
            values[name.strip().lower()] = value.strip()
        token, key = values.get("t"), values.get("k")
        if not token or not key:
            return 401, "vapid needs t= and k="
        cache_key = f"{token} {key}"
        claims = self._verified.get(cache_key)
        if claims is None:
            try:
                claims = _verify_jwt(token, key)
            except (InvalidSignature, ValueError) as exc:
                return 401, f"bad VAPID token: {exc or type(exc).__name__}"
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[cache_key] = claims
        now = self.clock()
        exp = claims.get("exp")
        if claims.get("aud") != self.origin:
            return 401, f"aud {claims.get('aud')!r} is not {self.origin!r}"
        if not isinstance(exp, int) or exp <= now:
            return 401, "token expired"
        if exp > now + MAX_EXP_AHEAD:
            return 401, "exp more than 24 hours ahead"
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub.startswith(("mailto:", "https:")):
            return 401, "sub missing or not mailto:/https:"
        if subscription is not None and subscription.application_server_key not in (None, key):
            return 403, "key does not match the subscription's applicationServerKey"
        return None

    async def _push(self, request: web.Request) -> web.Response:
        sub_id = request.match_info["id"]
        authorization = request.headers.get("Authorization")
        subscription = self.subscriptions.get(sub_id)
        body = await request.read()
        refused = self._check_vapid(authorization, subscription)
        if refused is not None:
            return self._answer(sub_id, refused[0], refused[1], authorization)
        if subscription is None:
            return self._answer(sub_id, 404, "no such subscription", authorization)
        behaviour = subscription.behaviour
        if behaviour in ("retry429", "error500") and subscription.failures_left > 0:
            subscription.failures_left -= 1
            if behaviour == "error500":
                return self._answer(sub_id, 500, subscription.answer or "push service error", authorization)
            extra = (
                {"Retry-After": subscription.retry_after} if subscription.retry_after is not None else None
            )
            return self._answer(sub_id, 429, subscription.answer or "too many requests", authorization, extra)
        fixed = {
            "gone404": (404, "subscription not found"),
            "gone410": (410, "subscription expired"),
            "too_large413": (413, "payload too large"),
            "bad400": (400, "bad request: the push service did not like this"),
            "unauthorized401": (401, "unauthorized"),
        }.get(behaviour)
        if fixed is not None:
            return self._answer(sub_id, fixed[0], subscription.answer or fixed[1], authorization)
        return self._accept(subscription, request, body, authorization)

    def _accept(
        self, subscription: Subscription, request: web.Request, body: bytes, authorization: str | None
    ) -> web.Response:
        sub_id = subscription.id
        headers = request.headers
        ttl_text = headers.get("TTL")
        if ttl_text is None or not ttl_text.isdigit():
            return self._answer(sub_id, 400, "TTL header missing or not a number", authorization)
        urgency = headers.get("Urgency")
        if urgency is not None and urgency not in _URGENCIES:
            return self._answer(sub_id, 400, f"bad Urgency {urgency!r}", authorization)
        topic = headers.get("Topic")
        if topic is not None and not _TOPIC.fullmatch(topic):
            return self._answer(sub_id, 400, f"bad Topic {topic!r}", authorization)
        if len(body) > MAX_BODY:
            return self._answer(sub_id, 413, f"body of {len(body)} bytes is over {MAX_BODY}", authorization)
        plaintext = b""
        if body:
            if headers.get("Content-Encoding") != "aes128gcm":
                return self._answer(sub_id, 400, "Content-Encoding is not aes128gcm", authorization)
            try:
                plaintext = http_ece.decrypt(
                    body,
                    private_key=subscription.private_key,
                    auth_secret=subscription.auth_secret,
                    version="aes128gcm",
                )
            except Exception as exc:  # http_ece raises several kinds on bad input
                return self._answer(sub_id, 400, f"cannot decrypt: {exc!r}", authorization)
        parsed: Any = None
        message_id: str | None = None
        try:
            parsed = json.loads(plaintext) if plaintext else None
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            raw_id = parsed.get("message_id", parsed.get("id"))
            message_id = None if raw_id is None else str(raw_id)
        if message_id is not None:
            key = (sub_id, message_id)
            if key in self._seen:
                self.duplicates[key] += 1
            else:
                self._seen.add(key)
        if self.record_requests:
            self.deliveries.append(
                Delivery(
                    subscription_id=sub_id,
                    plaintext=plaintext,
                    json=parsed,
                    message_id=message_id,
                    ttl=int(ttl_text),
                    urgency=urgency,
                    topic=topic,
                    authorization=authorization or "",
                    received_at=time.time(),
                )
            )
        response = self._answer(
            sub_id, 201, "", authorization, {"Location": f"{self.origin}/message/{sub_id}"}
        )
        self._wake()
        return response

    def _wake(self) -> None:
        delivered = self.status_counts[201]
        for count, waiter in self._waiters:
            if count <= delivered and not waiter.done():
                waiter.set_result(None)

    # -- control API (for a service in another process) ---------------------------------------------------

    async def _control_subscribe(self, request: web.Request) -> web.Response:
        options = await request.json() if request.can_read_body else {}
        if "count" in options:
            made = [
                self.new_subscription(
                    options.get("behaviour", "ok"),
                    application_server_key=options.get("application_server_key"),
                )
                for _ in range(min(int(options["count"]), 200_000))
            ]
            return web.json_response(made)
        created = self.new_subscription(
            options.get("behaviour", "ok"),
            failures=int(options.get("failures", 1)),
            retry_after=options.get("retry_after", 7),
            application_server_key=options.get("application_server_key"),
            answer=options.get("answer"),
        )
        return web.json_response(created)

    async def _control_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _control_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})


def _verify_jwt(token: str, key: str) -> dict[str, Any]:
    """Claims of an ES256 JWT signed by the P-256 key `key` (base64url point); raises on anything wrong."""
    try:
        header_b64, claims_b64, signature_b64 = token.split(".")
        header = json.loads(_b64url_decode(header_b64))
        claims = json.loads(_b64url_decode(claims_b64))
        signature = _b64url_decode(signature_b64)
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _b64url_decode(key))
    except (ValueError, binascii.Error) as exc:
        raise ValueError(f"malformed: {exc}") from exc
    if not isinstance(header, dict) or header.get("alg") != "ES256":
        raise ValueError("alg is not ES256")
    if not isinstance(claims, dict):
        raise ValueError("claims are not an object")
    if len(signature) != 64:
        raise ValueError("ES256 signature is not 64 bytes")
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    public_key.verify(der, f"{header_b64}.{claims_b64}".encode("ascii"), ec.ECDSA(hashes.SHA256()))
    return claims


async def _serve(host: str, port: int, quiet: bool) -> None:
    service = PushService(host, port)
    service.record_requests = not quiet
    async with service:
        print(f"push service on {service.origin}", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--quiet", action="store_true", help="keep counters only, not each delivery")
    args = parser.parse_args()
    try:
        asyncio.run(_serve(args.host, args.port, args.quiet))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
