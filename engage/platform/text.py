"""The one rule for free text people type (chat messages, names, comments): what is kept, what is dropped.

Kept: everything a language or an emoji needs, including the invisible joiners and marks that shape
words and sequences: ZWNJ (U+200C: Persian, Hindi), ZWJ (U+200D: emoji sequences, Indic conjuncts), the
direction marks LRM/RLM/ALM (U+200E, U+200F, U+061C: punctuation in right-to-left text), ZWSP (U+200B:
word breaks in Thai, Khmer), the word joiner, the soft hyphen, variation selectors and emoji tags (flags).

Dropped: what only hides or reorders text: control characters (C0 but tab and newline, DEL, C1), the bidi
embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069: "Trojan Source" reordering), the
byte-order mark / zero-width no-break space (U+FEFF), invisible math operators (U+2061-U+2064), the
deprecated format controls (U+206A-U+206F), interlinear annotation marks (U+FFF9-U+FFFB), and lone
surrogates (not text: no database stores them).
"""

from __future__ import annotations

import re
import unicodedata

HIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f"
    "\u202a-\u202e\u2066-\u2069"
    "\ufeff\u2061-\u2064\u206a-\u206f\ufff9-\ufffb"
    "\ud800-\udfff]"
)


def visible_text(text: str) -> str:
    """`text` with line ends as "\\n", in NFC, without the characters that hide or reorder text; not trimmed."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return HIDDEN.sub("", text)


def one_line(text: str) -> str:
    """`visible_text` on one line: newlines and tabs become spaces, runs of spaces one, trimmed."""
    return " ".join(visible_text(text).split())


__all__ = ["HIDDEN", "one_line", "visible_text"]
