"""Understanding a shopper's query: its meaningful words, their typo corrections and their synonyms."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from bots.search.lexical import Concept, Phrase, idf
from bots.search.text import STOP_WORDS, Synonyms, Vocabulary, content_words, stem, words

MAX_QUERY_WORDS = 24  # longer input is cut: nobody types more, and it bounds the SQL we build
MAX_WORDINGS = 4  # the query and up to 3 rewordings with synonyms: one model call, a few ms

# A price in the query is a filter, not words to match: "under $50", "around 150 dollars", "$20-$40". A
# currency mark is required ("under 5" is an age, "over-ear" a shape).
_MONEY = r"\$\s*(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\s*(?:dollars|bucks|usd)\b"
_PRICE_RANGE = re.compile(
    r"(?:between\s+)?\$\s*(\d+(?:\.\d+)?)\s*(?:-|to|and)\s*\$?\s*(\d+(?:\.\d+)?)(?:\s*(?:dollars|bucks|usd)\b)?",
    re.I,
)
_PRICE_BOUND = re.compile(
    rf"\b(under|below|less\s+than|cheaper\s+than|up\s+to|no\s+more\s+than|at\s+most|max(?:imum)?|within|"
    rf"over|above|more\s+than|at\s+least|min(?:imum)?|from|around|about|approximately|roughly|near|for|"
    rf"budget(?:\s+of)?|of)?\s*(?:{_MONEY})",
    re.I,
)
_AT_MOST = ("under", "below", "less", "cheaper", "up", "no", "at most", "max", "within", "budget")
_AT_LEAST = ("over", "above", "more", "at least", "min", "from")
AROUND = 0.35  # "around $150": 35% either side

# The head of a query is the kind of product it names: the last meaningful word before the first
# preposition, sizes, units and who it is for left out ("grey hoodie men XL" -> hoodie, "backpack for a
# 16 inch laptop" -> backpack, "27 inch monitor" -> monitor).
_BOUNDARY = frozenset(
    """for with without under over to that which who whose in on at from by near around so because when
    while and or but if than during after before into like about""".split()
)
_SPECS = frozenset(
    """size sizes sized inch inches cm mm m l xl xxl xxxl xs s ml litre litres liter liters oz lb lbs kg g qt
    pack piece pieces pcs waist length layout us uk eu fit colour color colours colors year years yr yrs old
    mens men womens women man woman ladies ladys kids kid boys girls unisex husband wife son daughter""".split()
)
_CLAUSE = re.compile(r"[,;!?]|\.(?:\s|$)")


@dataclass
class ParsedQuery:
    raw: str
    words: list[str]  # every word, typos corrected
    content: list[str]  # meaningful words, typos corrected
    corrections: dict[str, str] = field(default_factory=dict)  # typed -> catalog word
    synonyms: dict[str, list[str]] = field(default_factory=dict)  # query phrase -> other terms
    spans: list[tuple[tuple[int, int], list[str]]] = field(default_factory=list)  # (start, end) in words
    concepts: list[Concept] = field(default_factory=list)  # for the lexical leg
    unknown: list[str] = field(default_factory=list)  # meaningful words the catalog never uses
    head: int | None = None  # index in `concepts` of the kind of product the query names, if any
    # the head is a kind of product the shop vocabulary (synonym list) knows and no product is called
    head_unsold: bool = False
    min_price: int | None = None  # cents, from "over $50"
    max_price: int | None = None  # cents, inclusive, from "under $50"
    _stemmed: list[tuple[float, list[frozenset[str]]]] | None = field(default=None, repr=False, compare=False)

    @property
    def corrected(self) -> str:
        return " ".join(self.words)

    @property
    def did_you_mean(self) -> str | None:
        return self.corrected if self.corrections else None

    def semantic_text(self) -> str:
        """The corrected query as the model reads it (its first wording)."""
        return self.corrected

    def semantic_texts(self) -> list[str]:
        """What the model embeds: the corrected query and the same query with each synonym in place of the
        words it stands for (a product is as similar as its best wording); at most MAX_WORDINGS."""
        wordings = [self.corrected]
        depth = max((len(others) for _, others in self.spans), default=0)
        for i in range(depth):  # each span's best alternative first, then each span's second, ...
            for (start, end), others in self.spans:
                if i < len(others) and len(wordings) < MAX_WORDINGS:
                    wordings.append(" ".join([*self.words[:start], others[i], *self.words[end:]]))
        return wordings

    @property
    def is_empty(self) -> bool:
        return not self.content

    def stemmed_concepts(self) -> list[tuple[float, list[frozenset[str]]]]:
        """(idf, the stems of each phrase) per concept, computed once per query (coverage asks per product);
        a product holds a phrase when it holds all of its stems."""
        if self._stemmed is None:
            self._stemmed = [(c.idf, concept_stems(c)) for c in self.concepts]
        return self._stemmed


def price_range(raw: str) -> tuple[str, int | None, int | None]:
    """The query without its price words, and the price range they ask for (cents; None: open)."""
    low: int | None = None
    high: int | None = None
    match = _PRICE_RANGE.search(raw)
    if match:
        a, b = sorted(round(float(x) * 100) for x in match.groups())
        return raw[: match.start()] + " " + raw[match.end() :], a, b
    match = _PRICE_BOUND.search(raw)
    if not match:
        return raw, None, None
    amount = round(float(match.group(2) or match.group(3)) * 100)
    word = " ".join((match.group(1) or "").lower().split())
    if word.startswith(_AT_MOST):
        high = amount
    elif word.startswith(_AT_LEAST):
        low = amount
    else:  # "around $150", "something nice $150"
        low, high = round(amount * (1 - AROUND)), round(amount * (1 + AROUND))
    return raw[: match.start()] + " " + raw[match.end() :], low, high


def _head_position(raw: str, typed: list[str]) -> int | None:
    """Index in `typed` of the query's head word (see _BOUNDARY), or None."""
    offset = 0
    for clause in _CLAUSE.split(raw):
        clause_words = words(clause)
        candidates: list[int] = []
        started = False
        for i, w in enumerate(clause_words):
            position = offset + i
            if position >= len(typed):
                break
            if w in _BOUNDARY and started:
                break
            if w in STOP_WORDS or w in _BOUNDARY:
                continue
            started = True
            if not w.isdigit() and w not in _SPECS and not any(ch.isdigit() for ch in w):
                candidates.append(position)
        if candidates:
            return candidates[-1]
        if started:
            return None
        offset += len(clause_words)
    return None


def parse(raw: str, vocabulary: Vocabulary, synonyms: Synonyms, catalog_size: int) -> ParsedQuery:
    raw_words, min_price, max_price = price_range(raw)
    typed = words(raw_words)[:MAX_QUERY_WORDS]
    corrections: dict[str, str] = {}
    fixed: list[str] = []
    for i, w in enumerate(typed):
        neighbours = typed[max(0, i - 1) : i] + typed[i + 1 : i + 2]
        better = None if w in synonyms.words else vocabulary.correct(w, neighbours)
        if better:
            corrections[w] = better
        fixed.append(better or w)
    content = content_words(" ".join(fixed))
    parsed = ParsedQuery(raw=raw, words=fixed, content=content, corrections=corrections)
    parsed.min_price, parsed.max_price = min_price, max_price
    head = _head_position(raw_words, typed)

    # concepts: synonym spans first (a phrase is one concept), then every other meaningful word
    covered: set[int] = set()
    total = max(catalog_size, 1)
    for (start, end), others in synonyms.expansions(fixed):
        spoken = fixed[start:end]
        if all(w not in content for w in spoken):
            continue  # a synonym made only of stop words ("in", "on") adds nothing
        phrase_text = " ".join(spoken)
        # the terms the catalog itself uses first (the model compares the query with catalog text)
        others = sorted(others, key=lambda o: -_phrase_frequency(tuple(words(o)), vocabulary))
        parsed.synonyms[phrase_text] = others
        parsed.spans.append(((start, end), others))
        phrases: list[Phrase] = [tuple(spoken), *(tuple(words(o)) for o in others)]
        frequency = min(total, sum(_phrase_frequency(p, vocabulary) for p in phrases))
        if head is not None and start <= head < end:
            parsed.head = len(parsed.concepts)
            parsed.head_unsold = not any(vocabulary.names(p) for p in phrases)
        parsed.concepts.append(Concept(tuple(dict.fromkeys(phrases)), idf(frequency, total)))
        covered.update(range(start, end))
    seen: set[str] = set()
    for position, w in enumerate(fixed):
        if position in covered or w not in content or w in seen:
            continue
        seen.add(w)
        frequency = vocabulary.frequency(w)
        if frequency == 0:
            parsed.unknown.append(w)
        if position == head:
            parsed.head = len(parsed.concepts)
        parsed.concepts.append(Concept(((w,),), idf(frequency, total)))
    return parsed


def _phrase_frequency(phrase: Phrase, vocabulary: Vocabulary) -> int:
    """Products using the phrase, about: its rarest word, or its rarest pair of adjacent words."""
    if len(phrase) > 1:
        return min(vocabulary.bigrams.get(pair, 0) for pair in itertools.pairwise(stem(w) for w in phrase))
    return min((vocabulary.frequency(w) for w in phrase), default=0)


def concept_stems(concept: Concept) -> list[frozenset[str]]:
    return [frozenset(stem(w) for w in phrase) for phrase in concept.phrases]
