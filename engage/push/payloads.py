"""What the service worker receives: one JSON object (UTF-8), encrypted per RFC 8291. docs/push.md describes it.

    {"v": 1, "message_id": "8812", "kind": "campaign", "title": "...", "body": "...",
     "icon": "https://..." | null, "image": "https://..." | null, "url": "https://shop.example/sale",
     "tag": "campaign-7", "renotify": false, "require_interaction": false,
     "actions": [{"action": "a1", "title": "Shop now", "url": "https://..."}],
     "click": {"url": "https://shop.example/api/push/clicks", "token": "..."},
     "preferences_url": "https://shop.example/notifications/preferences?token=..." | null,
     "campaign": {"id": 7, "variant": "A"} | null, "ts": 1764756000000}

It always stays under 3,000 bytes (Web Push carries 3,993): contents are limited when composed, and a body
is shortened here if a payload would still be larger.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from engage.platform.clock import epoch_ms
from engage.platform.errors import InvalidInput

VERSION = 1
MAX_BYTES = 3000
MAX_TITLE = 100
MAX_BODY = 500
MAX_URL = 1000
MAX_ACTIONS = 2
MAX_ACTION_TITLE = 40
CLICK_PATH = "/api/push/clicks"


def check_url(value: str, field: str, *, required: bool = False) -> str:
    """A link in a notification: an https URL or a site path ("/sale"); never javascript:, data: or //host."""
    value = (value or "").strip()
    if not value:
        if required:
            raise InvalidInput(f"{field} is required", code="bad_url", field=field)
        return ""
    if len(value) > MAX_URL or not value.isprintable() or any(c.isspace() for c in value):
        raise InvalidInput(f"{field} is not a usable link", code="bad_url", field=field)
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or "@" in parts.netloc:
        raise InvalidInput(
            f"{field} is an https:// URL or a path on this site (/...)", code="bad_url", field=field
        )
    return value


def absolute(public_url: str, link: str) -> str:
    return f"{public_url}{link}" if link.startswith("/") else link


def build(
    *,
    message_id: int,
    kind: str,
    title: str,
    body: str,
    url: str,
    tag: str,
    click_token: str,
    public_url: str = "",
    icon: str = "",
    image: str = "",
    actions: list[dict[str, str]] | None = None,
    preferences_url: str | None = None,
    campaign: dict[str, Any] | None = None,
    renotify: bool = False,
    require_interaction: bool = False,
    now_ms: int | None = None,
    shorten: bool = True,
) -> bytes:
    data: dict[str, Any] = {
        "v": VERSION,
        "message_id": str(message_id),
        "kind": kind,
        "title": title,
        "body": body,
        "icon": absolute(public_url, icon) if icon else None,
        "image": absolute(public_url, image) if image else None,
        "url": absolute(public_url, url or "/"),
        "tag": tag,
        "renotify": renotify,
        "require_interaction": require_interaction,
        "actions": [
            {
                "action": a["action"],
                "title": a["title"],
                "url": absolute(public_url, a.get("url") or url or "/"),
            }
            for a in (actions or [])
        ],
        "click": {"url": f"{public_url}{CLICK_PATH}", "token": click_token},
        "preferences_url": preferences_url,
        "campaign": campaign,
        "ts": now_ms if now_ms is not None else epoch_ms(),
    }
    encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    while shorten and len(encoded) > MAX_BYTES and data["body"]:
        over = len(encoded) - MAX_BYTES
        keep = max(0, len(data["body"]) - over - 1)
        data["body"] = data["body"][:keep].rstrip() + "…" if keep else ""
        encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return encoded


def worst_case_size(content: dict[str, Any], public_url: str, kind: str = "campaign") -> int:
    """The largest payload `content` can make (longest ids, tokens and preference link)."""
    return len(
        build(
            message_id=10**15,
            kind=kind,
            title=content.get("title", ""),
            body=content.get("body", ""),
            url=content.get("url", ""),
            icon=content.get("icon", ""),
            image=content.get("image", ""),
            actions=content.get("actions") or [],
            tag="campaign-1000000000",
            click_token="x" * 22,
            public_url=public_url,
            preferences_url=f"{public_url}/notifications/preferences?token=" + "x" * 160,
            campaign={"id": 10**12, "variant": "pending"},
            shorten=False,
        )
    )
