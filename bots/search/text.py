"""Text analysis shared by indexing and querying: words, stems, stop words, typo correction, synonyms."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
_stemmer = snowballstemmer.stemmer("english")

# Words that carry no product meaning in a shopper's query ("something to keep coffee hot on a hike").
STOP_WORDS = frozenset(
    """a an and any are as at be been but by can could do does doing did for from get gets got had has have
    having he her here hers him his how i i'm if in into is it its it's just me more most my need needs no
    nor not of off on once only or other our out over own same she should so some something such than that
    the their them then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours want wants looking look find buy
    best good really thing things stuff please anything every also lot lots like likes""".split()
)


def fold(text: str) -> str:
    """Lower case without accents ("Cafetière" -> "cafetiere")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    return [w.replace("'", "") for w in _WORD.findall(fold(text))]


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return _stemmer.stemWord(word)


def stems(text: str) -> list[str]:
    return [stem(w) for w in words(text)]


def content_words(text: str) -> list[str]:
    """The words of a query that carry meaning, in order, without repeats."""
    seen: dict[str, None] = {}
    for w in words(text):
        if w not in STOP_WORDS and w not in seen:
            seen[w] = None
    return list(seen)


def max_typos(word: str) -> int:
    """Typo budget by length, as shoppers' search engines do: none below 4 letters, 2 from 8."""
    if word.isdigit() or len(word) < 4:
        return 0
    return 1 if len(word) < 8 else 2


@dataclass
class Vocabulary:
    """The catalog's own words with how many products use each: typo correction and "did you mean"."""

    counts: Counter[str] = field(default_factory=Counter)
    # real words the catalog does not use ("flight", "peace") are not typos of words it does use
    dictionary: frozenset[str] = frozenset()
    _stems: dict[str, str] = field(default_factory=dict)  # stem -> most frequent word with that stem
    _candidates: list[str] = field(default_factory=list)

    def add(self, document_words: Iterable[str], delta: int = 1) -> None:
        for w in set(document_words):
            self.counts[w] += delta
            if self.counts[w] <= 0:
                del self.counts[w]
        self._stems.clear()
        self._candidates = []

    def _prepare(self) -> None:
        if self._candidates or not self.counts:
            return
        by_stem: dict[str, str] = {}
        for w, _n in self.counts.most_common():
            by_stem.setdefault(stem(w), w)
        self._stems = by_stem
        self._candidates = [w for w in self.counts if len(w) >= 3 and not w.isdigit()]

    def knows(self, word: str) -> bool:
        self._prepare()
        return word in self.counts or stem(word) in self._stems

    def frequency(self, word: str) -> int:
        self._prepare()
        if word in self.counts:
            return self.counts[word]
        known = self._stems.get(stem(word))
        return self.counts[known] if known else 0

    def correct(self, word: str) -> str | None:
        """The catalog word this one is most likely a typo of, or None if it is known or too far off."""
        self._prepare()
        budget = max_typos(word)
        if budget == 0 or self.knows(word) or self.is_english(word):
            return None
        hits = process.extract(
            word, self._candidates, scorer=DamerauLevenshtein.distance, score_cutoff=budget, limit=8
        )
        if not hits:
            return None
        # closest first, then the word more products use, then the shorter (a stem-like form)
        best = min(hits, key=lambda h: (h[1], -self.counts[h[0]], len(h[0]), h[0]))
        return best[0]

    def is_english(self, word: str) -> bool:
        if word in self.dictionary:
            return True
        for suffix, replacement in (
            ("ies", "y"),
            ("es", ""),
            ("s", ""),
            ("ed", ""),
            ("ed", "e"),
            ("ing", ""),
            ("ing", "e"),
        ):
            if word.endswith(suffix) and word[: -len(suffix)] + replacement in self.dictionary:
                return True
        return False

    def __len__(self) -> int:
        return len(self.counts)


@dataclass(frozen=True)
class SynonymGroup:
    terms: tuple[str, ...]  # each term is a phrase of one or more words

    def phrases(self) -> list[tuple[str, ...]]:
        return [tuple(stems(t)) for t in self.terms]


class Synonyms:
    """Groups of interchangeable terms, one group per line, comma-separated; `#` starts a comment."""

    def __init__(self, groups: Sequence[Sequence[str]]) -> None:
        self.groups = [SynonymGroup(tuple(" ".join(words(t)) for t in g if words(t))) for g in groups]
        self.groups = [g for g in self.groups if len(g.terms) > 1]
        self.words = frozenset(w for g in self.groups for t in g.terms for w in t.split())
        self._by_first_stem: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        for index, group in enumerate(self.groups):
            for phrase in group.phrases():
                self._by_first_stem.setdefault(phrase[0], []).append((phrase, index))

    @classmethod
    def parse(cls, text: str) -> Synonyms:
        groups = []
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                groups.append([t.strip() for t in line.split(",") if t.strip()])
        return cls(groups)

    @classmethod
    def load(cls, path: Path | None) -> Synonyms:
        return cls.parse((path or DEFAULT_SYNONYMS).read_text(encoding="utf-8"))

    def expansions(self, query_words: Sequence[str]) -> list[tuple[tuple[int, int], list[str]]]:
        """For each span of `query_words` that names a group member: ((start, end), the other terms)."""
        query_stems = [stem(w) for w in query_words]
        found: list[tuple[tuple[int, int], list[str]]] = []
        start = 0
        while start < len(query_stems):
            match: tuple[int, int] | None = None
            for phrase, index in self._by_first_stem.get(query_stems[start], []):
                end = start + len(phrase)
                if tuple(query_stems[start:end]) == phrase and (match is None or end > match[0]):
                    match = (end, index)
            if match is None:
                start += 1
                continue
            end, index = match
            spoken = " ".join(query_words[start:end])
            others = [t for t in self.groups[index].terms if tuple(stems(t)) != tuple(stems(spoken))]
            found.append(((start, end), others))
            start = end
        return found


DEFAULT_SYNONYMS = Path(__file__).resolve().parent / "synonyms.txt"
