"""Signed links inside a push: the preference centre without signing in, and the click token.

Both are HMAC-SHA256 signatures (itsdangerous-style: payload "." signature, base64url, a salt per purpose)
with a key derived from the app secret, so they need no storage and cannot be guessed or altered; rotating
ENGAGE_SECRET_KEY invalidates them. One of each is made per message, so they are cheap: no JSON, no zlib.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from engage.platform.errors import PermissionDenied
from engage.push.env import PushEnv
from engage.push.vapid import b64url, b64url_decode

PREFERENCES_PATH = "/notifications/preferences"
_PREFERENCES_SALT = b"engage.push.preferences.v1:"
_CLICK_SALT = b"engage.push.click.v1:"
MAX_TOKEN_CHARS = 300


def _signature(env: PushEnv, salt: bytes, payload: bytes) -> str:
    return b64url(hmac.new(env.secret, salt + payload, hashlib.sha256).digest()[:16])


def preferences_token(env: PushEnv, owner_key: str) -> str:
    """A token that opens `owner_key`'s preferences (no expiry: it sits in notifications people keep):
    base64url(owner key) "." base64url(HMAC-SHA256, first 128 bits)."""
    payload = b64url(owner_key.encode())
    return f"{payload}.{_signature(env, _PREFERENCES_SALT, payload.encode())}"


def preferences_link(env: PushEnv, owner_key: str) -> str:
    """The preference centre page (built by the storefront) with the owner's token."""
    return f"{env.policy.public_url}{PREFERENCES_PATH}?token={quote(preferences_token(env, owner_key))}"


def owner_of_token(env: PushEnv, token: str) -> str:
    """The owner key a preferences token was made for; PermissionDenied (403) for anything else."""
    refused = PermissionDenied("this preferences link is not valid", code="bad_token")
    if not token or len(token) > MAX_TOKEN_CHARS or not token.isascii() or token.count(".") != 1:
        raise refused
    payload, signature = token.split(".")
    if not hmac.compare_digest(_signature(env, _PREFERENCES_SALT, payload.encode()), signature):
        raise refused
    try:
        owner = b64url_decode(payload).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise refused from None
    if not owner.startswith(("user:", "guest:")):
        raise refused
    return owner


def click_token(env: PushEnv, message_id: int) -> str:
    """22 characters (128 bits) of HMAC over the message id: the service worker's proof of a click."""
    return _signature(env, _CLICK_SALT, str(message_id).encode())


def click_token_valid(env: PushEnv, message_id: int, token: str) -> bool:
    return token.isascii() and hmac.compare_digest(click_token(env, message_id), token)


def link_token(env: PushEnv, purpose: bytes, value: int) -> str:
    """22 characters of HMAC over `value` for a link of another area's (`purpose`: its own salt)."""
    return _signature(env, purpose, str(value).encode())


def link_token_valid(env: PushEnv, purpose: bytes, value: int, token: str) -> bool:
    return (
        len(token) <= MAX_TOKEN_CHARS
        and token.isascii()
        and hmac.compare_digest(link_token(env, purpose, value), token)
    )
