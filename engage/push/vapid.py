"""VAPID (RFC 8292): the application server's P-256 key pair and the `Authorization: vapid` header.

A subscription is bound to the public key the browser got as `applicationServerKey`; rotating the keys
makes every existing subscription answer 401/403, so browsers must subscribe again.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from engage.platform.clock import utcnow

TOKEN_LIFETIME = timedelta(hours=12)
RENEW_BEFORE = timedelta(hours=1)
MAX_TOKEN_LIFETIME = timedelta(hours=24)  # RFC 8292 §2: exp no more than 24 h ahead

_JWT_HEADER = "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9"  # b64url('{"typ":"JWT","alg":"ES256"}')


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; raises ValueError on anything else."""
    text = text.strip()
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


@dataclass(frozen=True)
class VapidKeys:
    """The application server's key pair; equal when the public keys are equal."""

    private_key: ec.EllipticCurvePrivateKey = field(repr=False, compare=False)
    public_key: str  # base64url uncompressed point: the browser's applicationServerKey

    @classmethod
    def from_private_key(cls, private_key: ec.EllipticCurvePrivateKey) -> VapidKeys:
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise ValueError("VAPID keys are P-256")
        point = private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return cls(private_key=private_key, public_key=b64url(point))

    @property
    def private_raw(self) -> bytes:
        """The 32-byte private scalar."""
        return self.private_key.private_numbers().private_value.to_bytes(32, "big")

    @property
    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def generate_keys() -> VapidKeys:
    return VapidKeys.from_private_key(ec.generate_private_key(ec.SECP256R1()))


def keys_to_text(keys: VapidKeys) -> str:
    """One line for a file or an environment variable: the base64url raw private scalar (43 chars)."""
    return b64url(keys.private_raw)


def keys_from_text(text: str) -> VapidKeys:
    """Read `keys_to_text` output, a PEM private key, or base64url DER (py_vapid's string form)."""
    text = text.strip()
    if not text:
        raise ValueError("empty VAPID key")
    if text.startswith("-----BEGIN"):
        loaded = serialization.load_pem_private_key(text.encode("ascii"), password=None)
    else:
        raw = b64url_decode(text)
        if len(raw) == 32:
            loaded = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
        else:
            loaded = serialization.load_der_private_key(raw, password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise ValueError("VAPID key is not an EC private key")
    return VapidKeys.from_private_key(loaded)


def _write_new(path: Path, text: str) -> Path:
    """Write `text` to a fresh 0600 file next to `path`, synced; return its path."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (text + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return temp


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load_or_create(path: Path) -> VapidKeys:
    """The keys in `path`, created (0600, atomically) if missing; racing processes get the same keys."""
    try:
        return keys_from_text(path.read_text())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = _write_new(path, keys_to_text(generate_keys()))
    try:
        os.link(temp, path)  # atomic, and fails if another process got there first
    except FileExistsError:
        pass  # the other process won: use its keys
    finally:
        temp.unlink()
    _sync_dir(path.parent)
    return keys_from_text(path.read_text())


def rotate(path: Path) -> VapidKeys:
    """Replace the keys in `path` atomically; the old ones stay in `<name>.previous`.

    Every subscription made with the old public key stops working: browsers must subscribe again.
    """
    try:
        previous: str | None = path.read_text()
    except FileNotFoundError:
        previous = None
    if previous is not None:
        os.replace(_write_new(path, previous.strip()), path.with_name(path.name + ".previous"))
    keys = generate_keys()
    os.replace(_write_new(path, keys_to_text(keys)), path)
    _sync_dir(path.parent)
    return keys


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, lower-cased, default ports dropped (the JWT `aud`)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in ("http", "https") or not host:
        raise ValueError(f"not an http(s) URL: {url!r}")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    if port is None or (scheme, port) in (("https", 443), ("http", 80)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


class VapidSigner:
    """Signs one ES256 JWT per push-service origin and reuses it until less than `renew_before` is left."""

    def __init__(
        self,
        keys: VapidKeys,
        subject: str,
        *,
        clock: Callable[[], datetime] = utcnow,
        lifetime: timedelta = TOKEN_LIFETIME,
        renew_before: timedelta = RENEW_BEFORE,
    ) -> None:
        if not subject.startswith(("mailto:", "https:")):
            raise ValueError("the VAPID subject must be a mailto: or https: URI")
        if not timedelta(0) < lifetime <= MAX_TOKEN_LIFETIME:
            raise ValueError("the VAPID token lifetime must be within 24 hours")
        if not timedelta(0) <= renew_before < lifetime:
            raise ValueError("renew_before must be shorter than the lifetime")
        self.keys = keys
        self.subject = subject
        self._clock = clock
        self._lifetime = lifetime
        self._renew_before = renew_before
        self._cache: dict[str, tuple[str, int]] = {}  # origin -> (header value, exp)
        self._origins: dict[str, str] = {}  # "scheme://netloc" as written -> its origin (no parsing per send)

    def authorization(self, endpoint_url: str) -> str:
        """The `Authorization` header value for a request to `endpoint_url`."""
        start = endpoint_url.find("//") + 2
        end = endpoint_url.find("/", start) if start > 1 else -1
        head = endpoint_url[:end] if end > 0 else endpoint_url
        origin = self._origins.get(head)
        if origin is None:
            origin = origin_of(endpoint_url)
            if len(self._origins) > 10_000:
                self._origins.clear()
            self._origins[head] = origin
        now = int(self._clock().timestamp())
        cached = self._cache.get(origin)
        if cached is not None and cached[1] - now > self._renew_before.total_seconds():
            return cached[0]
        exp = now + int(self._lifetime.total_seconds())
        header = f"vapid t={self._sign({'aud': origin, 'exp': exp, 'sub': self.subject})}, k={self.keys.public_key}"
        self._cache[origin] = (header, exp)
        return header

    def _sign(self, claims: dict[str, str | int]) -> str:
        # sorted claims: Chrome once required them (py_vapid does the same)
        body = b64url(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode("utf-8"))
        signing_input = f"{_JWT_HEADER}.{body}"
        der = self.keys.private_key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
