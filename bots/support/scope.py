"""Whose business a message is about: a backstop to the out-of-scope examples (intent_examples.yaml) for a
company the bot has never heard of ("my Zappos order still hasn't shown up" reads, by meaning, exactly like
"my order still hasn't shown up").

A name is another party's when it is a word the shop never uses (not in its help centre or its example
questions), standing where a message names whose order, account or service it is: "my X order", "cancel my
X", "a refund from X", "X charged me", "my card on my X". Written in lower case it must also be no ordinary
English word (not in the model tokenizer's dictionary); written as a name (a capital inside a sentence:
"my Otto package", "an order on Noon", "the Marks & Spencer order") it need not be, since famous names are
in that dictionary too, unless it names a day, a month or a holiday ("my Black Friday order").
No list of brands: the shop's own words (Luxia, the carriers and payment methods its articles name), and
their misspellings, are known; the bot also asks its catalog whether the name is a brand it sells (bot.py).

The shop's words also let the bot judge by meaning how much of a message lies outside the shop
(`shop_words_only`, BotConfig.shop_words_floor).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from bots.embeddings import tokenizer_words

_WORD = re.compile(r"[a-z]+")
_TOKEN = re.compile(r"[a-z0-9']+")
MISSPELT = 0.8  # difflib's ratio from which a word is taken for a misspelling of a shop's word
# a name: "Zappos", "Bol.com", "Disney+", "Marks & Spencer"
_NAME = r"([A-Za-z][\w&'.+-]*(?:\s+&\s+[A-Za-z][\w'.+-]*)?)"
# what a shopper has with a company
_BELONGINGS = (
    r"(?:order|orders|account|subscription|membership|bill|plan|parcel|package|delivery|app|password|login|"
    r"refund|points|rewards|ticket|booking|seller|courier|driver|box|return|pickup|premium|balance|card|"
    r"contract|profile|wallet|trial|purchase|shipment|cart|checkout|support|rental|reservation|flight|loan|policy|"
    r"lease|claim)"
)
_PARTY_AT = (
    # "my Zappos order", "our Peloton membership", "the Hertz booking"
    re.compile(rf"\b(?:my|our|the|an?|his|her|their)\s+{_NAME}(?:\s+\w+)?\s+{_BELONGINGS}\b", re.I),
    # "cancel my Strava", "unsubscribe from Tidal"
    re.compile(
        rf"\b(?:cancel|unsubscribe\s+from|delete|close|pause|renew|stop)\s+(?:my\s+|our\s+)?{_NAME}\b", re.I
    ),
    # "a refund from Trainline", "an order on Noon", "send it back to Zalando" (not "delivery to Reykjavik")
    re.compile(
        rf"\b(?:order\w*|bought|purchased|refund\w*|charged|parcel|package|delivery|ticket|subscription|account|"
        rf"booking)\b[^.?!]{{0,30}}?\b(?:from|on|at)\s+{_NAME}"
        rf"|\b(?:return\w*|send\w*\s+\w+\s+back)\b[^.?!]{{0,30}}?\bto\s+{_NAME}",
        re.I,
    ),
    # "update my card on my Patreon", "the points in my Tesco app"
    re.compile(
        rf"\b(?:on|in|at|with|from)\s+(?:my|our)\s+{_NAME}(?:\s+(?:app|account|site|website))?\s*(?:[.?!]|$)",
        re.I,
    ),
    # "Shein sent me the wrong size", "Klook won't refund"
    re.compile(
        rf"\b{_NAME}\s+(?:sent|charged|billed|won'?t|will\s+not|didn'?t|did\s+not|never|lost|cancell?ed|"
        rf"refused|keeps|kept|renewed|took|delivered|shipped|says|is\s+charging|has\s+not|hasn'?t)\b",
        re.I,
    ),
)
# names that are not a company's: days, months, holidays and sales seasons ("my Black Friday order")
_CALENDAR = frozenset(
    """monday tuesday wednesday thursday friday saturday sunday january february march april may june july
    august september october november december christmas xmas easter halloween thanksgiving valentine
    valentines valentine's hanukkah diwali eid ramadan boxing black cyber prime new year mother's father's
    mothers fathers""".split()
)


def _written_as_a_name(text: str, start: int, name: str) -> bool:
    """A capital inside a sentence (not its first word), on no calendar word."""
    before = text[:start].rstrip()
    first_word = not before or before[-1] in ".!?:\n"
    words = _WORD.findall(name.lower())
    return name[0].isupper() and not first_word and not any(w in _CALENDAR for w in words)


# a question about the shop itself ("do you ship to Reykjavik?", "is your sizing like Zalando's?")
_TO_THE_SHOP = re.compile(r"\b(?:do|does|are)\s+(?:you|u)\b|\b(?:your|ur|luxia)\b", re.I)


class ShopVocabulary:
    """The words the shop uses (its help centre and example questions), lower case."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.words = frozenset(w for text in texts for w in _WORD.findall(text.lower()))

    def shop_words_only(self, text: str) -> str:
        """The message without the words the shop never uses ("my bank won't refund a fraudulent transaction"
        -> "my won't refund a"); numbers, contractions and words of one or two letters stay. The message
        itself if it has no such word."""
        tokens = _TOKEN.findall(text.lower())
        kept = [t for t in tokens if t in self.words or len(t) < 3 or "'" in t or any(c.isdigit() for c in t)]
        return text if len(kept) == len(tokens) else " ".join(kept)

    def uses(self, name: str) -> bool:
        """Every word of the name is one the shop uses, maybe misspelt."""
        return all(len(w) < 3 or self._misspelt_own(w) for w in _WORD.findall(name.lower()))

    def knows(self, name: str) -> bool:
        """A name the shop or plain English has: every word of it is the dictionary's or the shop's, maybe
        misspelt ("my acount password", "my ordr number")."""
        words = _WORD.findall(name.lower())
        dictionary = tokenizer_words()
        return all(w in dictionary or len(w) < 3 or self._misspelt_own(w) for w in words)

    def _misspelt_own(self, word: str) -> bool:
        """The shop's word or one spelt nearly like it, with the same first letter (a misspelling keeps it;
        "Klook" is not "look")."""
        if word in self.words:
            return True
        alike = [w for w in self.words if w[0] == word[0]]
        return bool(difflib.get_close_matches(word, alike, n=1, cutoff=MISSPELT))


def another_party(text: str, vocabulary: ShopVocabulary) -> str | None:
    """The name of the company whose order, account or service the message is about, if it is one the shop
    does not know (None: the shop's own business, or a company it knows such as its carriers)."""
    if _TO_THE_SHOP.search(text):
        return None
    for pattern in _PARTY_AT:
        for match in pattern.finditer(text):
            group = next(g for g in range(1, len(match.groups()) + 1) if match.group(g))
            name = match.group(group)
            if _written_as_a_name(text, match.start(group), name):
                if not vocabulary.uses(name):
                    return name
            elif not vocabulary.knows(name):
                return name
    return None
