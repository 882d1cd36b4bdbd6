"""One rule for typed text: joiners and marks languages need stay; what hides or reorders text goes."""

from __future__ import annotations

import pytest

from engage.platform.identity import Role
from engage.platform.text import one_line, visible_text

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # man ZWJ woman ZWJ girl: one emoji
PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # "mi-khaham" (I want), with ZWNJ
HINDI = "\u0915\u094d\u200d\u0937"  # a conjunct with ZWJ
SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # tag sequence
RTL_PUNCT = "\u05e9\u05dc\u05d5\u05dd!\u200f"  # Hebrew with a right-to-left mark
THAI = "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u200b\u0e04\u0e23\u0e31\u0e1a"  # word break with ZWSP


@pytest.mark.parametrize(
    "text", [FAMILY, PERSIAN, HINDI, SCOTLAND, RTL_PUNCT, THAI, "caf\u00e9 \u2764\ufe0f"]
)
def test_what_languages_and_emoji_need_is_kept(text: str) -> None:
    assert visible_text(text) == text


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("pay \u202eofni.exe", "pay ofni.exe"),  # right-to-left override
        ("a\u2066b\u2069c\u202ad\u202c", "abcd"),  # isolates, embeddings, pop
        ("\ufeffhello\u2062", "hello"),  # BOM, invisible times
        ("bell\x07\x1b[31m\x85", "bell[31m"),  # C0 and C1 controls
        ("line\r\nnext\rlast\ttab", "line\nnext\nlast\ttab"),
        ("e\u0301", "\u00e9"),  # NFC
    ],
)
def test_what_hides_or_reorders_text_is_dropped(text: str, kept: str) -> None:
    assert visible_text(text) == kept


def test_one_line() -> None:
    assert one_line("  Kim\n\u202e  Lee\t ") == "Kim Lee"


async def test_chat_keeps_joiners_and_drops_overrides(client, make_account) -> None:
    shopper, agent = await make_account(Role.customer), await make_account(Role.agent)
    text = f"{FAMILY} {PERSIAN} {HINDI} \u202eevil\u202c"
    res = await client.post(
        "/api/chat/conversations", json={"text": text, "human": True}, headers=shopper.headers
    )
    assert res.status_code == 201, res.text
    cid = res.json()["conversation"]["id"]
    items = (await client.get(f"/api/chat/conversations/{cid}/messages", headers=agent.headers)).json()[
        "items"
    ]
    assert any(m["text"] == f"{FAMILY} {PERSIAN} {HINDI} evil" for m in items), [m["text"] for m in items]


async def test_names_follow_the_same_rule(client, sign_up) -> None:
    from tests.conftest import unique_email

    body = await sign_up(client, unique_email(), name=f"Sa\u200cra\u202e {FAMILY}")
    assert body["user"]["name"] == f"Sa\u200cra {FAMILY}"
