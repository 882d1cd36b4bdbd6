"""What a chat message may contain: plain text (links are recognised, never HTML), of a bounded length."""

from __future__ import annotations

import re

from engage.platform.errors import InvalidInput
from engage.platform.text import visible_text

_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# http(s) links only; a link ends at whitespace or at trailing punctuation.
LINK = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]}]", re.IGNORECASE)
PREVIEW_CHARS = 140


def clean_text(text: str, *, max_chars: int, allow_empty: bool = False) -> str:
    """Line ends, Unicode and hidden characters as the kernel's one rule says (`visible_text`: joiners and
    marks languages need stay, what hides or reorders text goes), trimmed; enforce the length limit."""
    text = visible_text(text).strip()
    if not text and not allow_empty:
        raise InvalidInput("a message cannot be empty", code="empty_message", field="text")
    if len(text) > max_chars:
        raise InvalidInput(
            f"a message can be at most {max_chars} characters", code="message_too_long", field="text"
        )
    return text


def check_client_id(client_id: str) -> str:
    if not _CLIENT_ID.match(client_id):
        raise InvalidInput(
            "client_id must be 1-64 letters, digits or . _ : -", code="bad_client_id", field="client_id"
        )
    return client_id


def links_in(text: str) -> list[str]:
    return LINK.findall(text)


def is_safe_url(url: str) -> bool:
    """A link we are willing to show: http(s) absolute, or a path on this site."""
    return bool(LINK.fullmatch(url)) or (url.startswith("/") and not url.startswith("//") and "\\" not in url)


def preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"
