"""Signed links inside a push: the preference centre without signing in, and the click token.

Both are HMAC-SHA256 signatures (itsdangerous) with a key derived from the app secret, so they need no
storage and cannot be guessed or altered; rotating ENGAGE_SECRET_KEY invalidates them.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeSerializer

from engage.platform.errors import PermissionDenied
from engage.push.env import PushEnv
from engage.push.vapid import b64url

PREFERENCES_PATH = "/notifications/preferences"
_PREFERENCES_SALT = "engage.push.preferences.v1"
_CLICK_SALT = b"engage.push.click.v1"
MAX_TOKEN_CHARS = 300


def _preferences_serializer(env: PushEnv) -> URLSafeSerializer:
    return URLSafeSerializer(
        env.secret, salt=_PREFERENCES_SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )


def preferences_token(env: PushEnv, owner_key: str) -> str:
    """A token that opens `owner_key`'s preferences (no expiry: it sits in notifications people keep)."""
    return _preferences_serializer(env).dumps({"o": owner_key})


def preferences_link(env: PushEnv, owner_key: str) -> str:
    """The preference centre page (built by the storefront) with the owner's token."""
    return f"{env.policy.public_url}{PREFERENCES_PATH}?token={quote(preferences_token(env, owner_key))}"


def owner_of_token(env: PushEnv, token: str) -> str:
    """The owner key a preferences token was made for; PermissionDenied (403) for anything else."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise PermissionDenied("this preferences link is not valid", code="bad_token")
    try:
        data = _preferences_serializer(env).loads(token)
    except (BadSignature, ValueError, UnicodeError):
        raise PermissionDenied("this preferences link is not valid", code="bad_token") from None
    owner = data.get("o") if isinstance(data, dict) else None
    if not isinstance(owner, str) or not owner.startswith(("user:", "guest:")):
        raise PermissionDenied("this preferences link is not valid", code="bad_token")
    return owner


def click_token(env: PushEnv, message_id: int) -> str:
    """22 characters (128 bits) of HMAC over the message id: the service worker's proof of a click."""
    digest = hmac.new(env.secret, _CLICK_SALT + str(message_id).encode(), hashlib.sha256).digest()
    return b64url(digest[:16])


def click_token_valid(env: PushEnv, message_id: int, token: str) -> bool:
    return hmac.compare_digest(click_token(env, message_id), token)
