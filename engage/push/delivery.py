"""Web Push delivery: encrypt (RFC 8291 aes128gcm), sign (VAPID), POST (RFC 8030), classify the answer.

`PushSender.send` never raises for what the push service answers: it returns a `DeliveryResult` whose
outcome tells the caller what to do (delete the subscription, retry later, stop and alert staff).
It raises only for programming errors, and those are caught when a `PushMessage` or `PushTarget` is built.
"""

from __future__ import annotations

import enum
import json
import math
import random as _random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal, get_args
from urllib.parse import SplitResult, unquote, urlsplit

import aiohttp
import http_ece
from cryptography.hazmat.primitives.asymmetric import ec

from engage.platform.clock import utcnow
from engage.push.vapid import VapidSigner, b64url_decode, origin_of

__all__ = [
    "DEFAULT_ALLOWED_ENDPOINTS",
    "DEFAULT_TTL_SECONDS",
    "MAX_PAYLOAD_BYTES",
    "DeliveryOutcome",
    "DeliveryResult",
    "InvalidSubscription",
    "PayloadTooLarge",
    "PushMessage",
    "PushSender",
    "PushTarget",
    "Urgency",
    "backoff_delay",
    "encrypt_payload",
    "endpoint_allowed",
    "origin_of",
    "outcome_for_status",
    "parse_retry_after",
]

MAX_PAYLOAD_BYTES = 3993  # RFC 8291 §4: one 4096-byte record minus header, padding delimiter and tag
DEFAULT_TTL_SECONDS = 24 * 3600
RECORD_SIZE = 4096

DEFAULT_ALLOWED_ENDPOINTS: tuple[str, ...] = (
    "https://fcm.googleapis.com/",  # Chrome, Edge on Android, Opera, Samsung
    "https://android.googleapis.com/",  # old Chrome (GCM) endpoints
    "https://updates.push.services.mozilla.com/",  # Firefox
    "https://web.push.apple.com/",  # Safari
    "https://*.notify.windows.com/",  # Edge on Windows (WNS)
)

Urgency = Literal["very-low", "low", "normal", "high"]
_URGENCIES: frozenset[str] = frozenset(get_args(Urgency))
_TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")
_REASON_CHARS = 200
_MAX_ANSWER_BYTES = 8192  # we read no more of a push service's answer body
_MAX_BACKOFF_SECONDS = 300.0


class PayloadTooLarge(ValueError):
    pass


class InvalidSubscription(ValueError):
    """The subscription's endpoint or keys cannot be used (bad base64, wrong length, not a P-256 point)."""


# -- what we send -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushTarget:
    """A browser's PushSubscription: endpoint and keys as `PushSubscription.toJSON()` gives them."""

    endpoint: str
    p256dh: str  # base64url uncompressed P-256 point of the browser
    auth: str  # base64url 16-byte auth secret
    receiver_key: ec.EllipticCurvePublicKey = field(init=False, repr=False, compare=False)
    auth_secret: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            origin_of(self.endpoint)
            point = b64url_decode(self.p256dh)
            secret = b64url_decode(self.auth)
        except ValueError as exc:
            raise InvalidSubscription(str(exc)) from exc
        if len(point) != 65 or point[0] != 4:
            raise InvalidSubscription("p256dh is not an uncompressed P-256 point")
        if len(secret) != 16:
            raise InvalidSubscription("auth is not a 16-byte secret")
        try:
            key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        except ValueError as exc:
            raise InvalidSubscription("p256dh is not a point on P-256") from exc
        object.__setattr__(self, "receiver_key", key)
        object.__setattr__(self, "auth_secret", secret)

    @classmethod
    def from_subscription(cls, subscription: dict[str, object]) -> PushTarget:
        """From `PushSubscription.toJSON()`: {"endpoint": ..., "keys": {"p256dh": ..., "auth": ...}}."""
        keys = subscription.get("keys")
        endpoint = subscription.get("endpoint")
        if not isinstance(endpoint, str) or not isinstance(keys, dict):
            raise InvalidSubscription("a subscription needs an endpoint and keys")
        p256dh, auth = keys.get("p256dh"), keys.get("auth")
        if not isinstance(p256dh, str) or not isinstance(auth, str):
            raise InvalidSubscription("a subscription needs keys.p256dh and keys.auth")
        return cls(endpoint=endpoint, p256dh=p256dh, auth=auth)


@dataclass(frozen=True)
class PushMessage:
    """What to push. An empty payload is a push without data (the service worker gets `event.data` null)."""

    payload: bytes
    ttl: int = (
        DEFAULT_TTL_SECONDS  # seconds the push service keeps it for an offline browser; 0 = now or never
    )
    urgency: Urgency = "normal"
    topic: str | None = None  # a later message with the same topic replaces an undelivered one

    def __post_init__(self) -> None:
        if not isinstance(self.payload, bytes):
            raise TypeError("the payload is bytes; use PushMessage.json() for data")
        if len(self.payload) > MAX_PAYLOAD_BYTES:
            raise PayloadTooLarge(
                f"push payload is {len(self.payload)} bytes; Web Push carries at most {MAX_PAYLOAD_BYTES}"
            )
        if isinstance(self.ttl, bool) or not isinstance(self.ttl, int) or self.ttl < 0:
            raise ValueError("ttl is a whole number of seconds, 0 or more")
        if self.urgency not in _URGENCIES:
            raise ValueError(f"urgency is one of {sorted(_URGENCIES)}")
        if self.topic is not None and not _TOPIC.fullmatch(self.topic):
            raise ValueError("topic is 1 to 32 base64url characters (A-Z a-z 0-9 - _)")

    @classmethod
    def json(
        cls,
        data: object,
        *,
        ttl: int = DEFAULT_TTL_SECONDS,
        urgency: Urgency = "normal",
        topic: str | None = None,
    ) -> PushMessage:
        payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return cls(payload=payload, ttl=ttl, urgency=urgency, topic=topic)


def encrypt_payload(target: PushTarget, plaintext: bytes) -> bytes:
    """RFC 8291 aes128gcm body, exactly as pywebpush builds it: a fresh ECDH key pair and salt per message."""
    if len(plaintext) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(f"push payload is {len(plaintext)} bytes; at most {MAX_PAYLOAD_BYTES}")
    body: bytes = http_ece.encrypt(
        plaintext,
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=target.receiver_key,  # already parsed: http_ece would parse the bytes again
        auth_secret=target.auth_secret,
        version="aes128gcm",
        rs=RECORD_SIZE,
    )
    return body


# -- what comes back --------------------------------------------------------------------------------------


class DeliveryOutcome(enum.StrEnum):
    ACCEPTED = "accepted"  # 2xx: the push service has it
    GONE = "gone"  # 404, 410: the subscription expired; delete it
    RETRY = "retry"  # 408, 429, 5xx, network errors: try again later (see backoff_delay)
    REJECTED = "rejected"  # other 4xx (400, 413 ...), 3xx, endpoint not allowed: this message fails
    UNAUTHORIZED = "unauthorized"  # 401, 403: our VAPID keys are wrong; stop the send and alert staff


@dataclass(frozen=True)
class DeliveryResult:
    outcome: DeliveryOutcome
    status: int | None  # None: no HTTP answer (network error, timeout, endpoint not allowed)
    reason: str
    retry_after_seconds: float | None = None  # from Retry-After, only on RETRY

    @property
    def accepted(self) -> bool:
        return self.outcome is DeliveryOutcome.ACCEPTED


def outcome_for_status(status: int) -> DeliveryOutcome:
    if 200 <= status < 300:
        return DeliveryOutcome.ACCEPTED
    if status in (404, 410):
        return DeliveryOutcome.GONE
    if status in (401, 403):
        return DeliveryOutcome.UNAUTHORIZED
    if status in (408, 429) or status >= 500:
        return DeliveryOutcome.RETRY
    return DeliveryOutcome.REJECTED


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date); None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - (now or utcnow())).total_seconds())
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def backoff_delay(
    attempt: int,
    retry_after: float | None = None,
    *,
    base: float = 1.0,
    cap: float = _MAX_BACKOFF_SECONDS,
    random: Callable[[], float] = _random.random,
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1, 2, ...): half to all of
    min(cap, base * 2**(attempt-1)), so 1 s, 2 s, 4 s ... up to 5 min; Retry-After wins when larger."""
    ceiling = min(cap, base * 2.0 ** min(max(attempt, 1) - 1, 64))
    delay = ceiling / 2 + random() * ceiling / 2
    return max(delay, retry_after) if retry_after is not None else delay


# -- where we may send ------------------------------------------------------------------------------------


def _effective_port(parts: SplitResult) -> int:
    port = parts.port  # raises ValueError when out of range or not a number
    return port if port is not None else (443 if parts.scheme == "https" else 80)


def _host_matches(host: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        suffix = pattern[1:]  # ".notify.windows.com"
        return host.endswith(suffix) and len(host) > len(suffix)
    return host == pattern


def _path_matches(path: str, prefix: str) -> bool:
    if prefix.endswith("/"):
        return path.startswith(prefix)
    return path == prefix or path.startswith(prefix + "/")


def endpoint_allowed(endpoint: str, allowed_prefixes: Sequence[str]) -> bool:
    """True when `endpoint` is under one of the prefixes (same scheme, host or `*.` host wildcard, port, and
    path prefix). No userinfo, no dot segments, no odd characters: a push endpoint is a plain URL."""
    if not endpoint.isascii() or any(c <= " " or c in "\\\x7f" for c in endpoint):
        return False
    try:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or "@" in parts.netloc or parts.hostname is None:
            return False
        host = parts.hostname
        port = _effective_port(parts)
    except ValueError:
        return False
    if not (_HOST.fullmatch(host) or (host.count(":") >= 2 and parts.netloc.startswith("["))):
        return False
    path = parts.path or "/"
    if any(segment in (".", "..") for segment in unquote(path).split("/")):
        return False
    for prefix in allowed_prefixes:
        allowed = urlsplit(prefix)
        pattern = (allowed.hostname or "").lower()
        try:
            allowed_port = _effective_port(allowed)
        except ValueError:
            continue
        if (
            allowed.scheme == parts.scheme
            and "@" not in allowed.netloc
            and _host_matches(host, pattern)
            and allowed_port == port
            and _path_matches(path, allowed.path or "/")
        ):
            return True
    return False


# -- sending ----------------------------------------------------------------------------------------------


async def _read_at_most(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, or its first `limit` bytes (the connection is then not reused)."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await response.content.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class PushSender:
    """One per process: a pooled keep-alive HTTP/1.1 client and the VAPID signer.

    `allowed_endpoints=None` skips the allow-list (the subscription API already checked it)."""

    def __init__(
        self,
        signer: VapidSigner,
        *,
        allowed_endpoints: Sequence[str] | None = DEFAULT_ALLOWED_ENDPOINTS,
        timeout_seconds: float = 10.0,
        max_connections: int = 100,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.signer = signer
        self.allowed_endpoints = tuple(allowed_endpoints) if allowed_endpoints is not None else None
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds, connect=min(timeout_seconds, 5.0))
        self._max_connections = max_connections
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> PushSender:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, limit_per_host=0, ttl_dns_cache=300, keepalive_timeout=30
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                trust_env=False,  # no proxies from the environment
                auto_decompress=False,
                raise_for_status=False,
            )
        return self._session

    def request_for(self, target: PushTarget, message: PushMessage) -> tuple[dict[str, str], bytes]:
        """The headers and body of the POST (signing and encryption: the CPU part of a send)."""
        headers = {
            "Authorization": self.signer.authorization(target.endpoint),
            "TTL": str(message.ttl),
            "Urgency": message.urgency,
        }
        if message.topic is not None:
            headers["Topic"] = message.topic
        body = b""
        if message.payload:
            body = encrypt_payload(target, message.payload)
            headers["Content-Encoding"] = "aes128gcm"
            headers["Content-Type"] = "application/octet-stream"
        return headers, body

    async def send(self, target: PushTarget, message: PushMessage) -> DeliveryResult:
        if self.allowed_endpoints is not None and not endpoint_allowed(
            target.endpoint, self.allowed_endpoints
        ):
            return DeliveryResult(DeliveryOutcome.REJECTED, None, "endpoint not on the allow-list")
        headers, body = self.request_for(target, message)
        try:
            async with self._client().post(
                target.endpoint, data=body, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                answer = await _read_at_most(response, _MAX_ANSWER_BYTES)
                retry_after_header = response.headers.get("Retry-After")
                status_text = response.reason or ""
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return DeliveryResult(DeliveryOutcome.RETRY, None, f"network: {type(exc).__name__}: {exc}"[:300])
        outcome = outcome_for_status(status)
        if outcome is DeliveryOutcome.ACCEPTED:
            return DeliveryResult(outcome, status, f"{status} {status_text}".strip())
        # failures: the service's own words (first 200 chars of the body), else the status text
        text = answer.decode("utf-8", errors="replace").strip()[:_REASON_CHARS]
        reason = f"{status} {text or status_text}".strip()
        retry_after = None
        if outcome is DeliveryOutcome.RETRY:
            retry_after = parse_retry_after(retry_after_header, self._clock())
        return DeliveryResult(outcome, status, reason, retry_after)
