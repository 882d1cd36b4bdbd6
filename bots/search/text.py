"""Text analysis shared by indexing and querying: words, stems, stop words, typo correction, synonyms."""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein, Indel

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
    if text.isascii():  # nothing to decompose (most text, and a per-character loop is slow)
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    return [w.replace("'", "") for w in _WORD.findall(fold(text))]


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    stemmed: str = _stemmer.stemWord(word)
    return stemmed


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
    bigrams: Counter[tuple[str, str]] = field(default_factory=Counter)  # adjacent stems in catalog texts
    # stems (and adjacent stems) of what products are called: names, tags, categories
    kinds: Counter[str] = field(default_factory=Counter)
    kind_pairs: Counter[tuple[str, str]] = field(default_factory=Counter)
    # real words the catalog does not use ("flight", "peace") are not typos of words it does use
    dictionary: frozenset[str] = frozenset()
    _stems: dict[str, str] = field(default_factory=dict)  # stem -> most frequent word with that stem
    _candidates: list[str] = field(default_factory=list)

    def add(self, document_words: Sequence[str], kind_words: Sequence[str] = (), delta: int = 1) -> None:
        """A product's words (`kind_words`: those of its name, tags and category: what it is called)."""
        for pair in set(itertools.pairwise(stem(w) for w in kind_words)):
            self.kind_pairs[pair] += delta
            if self.kind_pairs[pair] <= 0:
                del self.kind_pairs[pair]
        for kind in {stem(w) for w in kind_words}:
            self.kinds[kind] += delta
            if self.kinds[kind] <= 0:
                del self.kinds[kind]
        for w in set(document_words):
            self.counts[w] += delta
            if self.counts[w] <= 0:
                del self.counts[w]
        for pair in set(itertools.pairwise(stem(w) for w in document_words)):
            self.bigrams[pair] += delta
            if self.bigrams[pair] <= 0:
                del self.bigrams[pair]
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

    def correct(self, word: str, neighbours: Sequence[str] = ()) -> str | None:
        """The catalog word this one is most likely a typo of, or None if it is known or too far off.

        A word the tokenizer knows as English (or the catalog by its stem) is left alone unless a catalog word
        one edit away makes a phrase the catalog uses with a neighbouring query word ("teddy bare" -> "teddy
        bear", "yoga matt" -> "yoga mat")."""
        self._prepare()
        budget = max_typos(word)
        if budget == 0 or word in self.counts:
            return None
        # known by its stem only ("matt" of "matte") or a real word: a typo only in context
        english = self.knows(word) or self.is_english(word)
        if english:
            budget = 1
        hits = process.extract(
            word, self._candidates, scorer=DamerauLevenshtein.distance, score_cutoff=budget, limit=12
        )
        # typos rarely change the first letter ("blower" is not "lower", "fryer" is not "dryer")
        hits = [h for h in hits if h[0][0] == word[0]]
        if english:
            hits = [h for h in hits if any(self.pairs_with(h[0], n) for n in neighbours)]
        if not hits:
            return None
        # closest first, then fewest letters added or dropped ("linnen" is "linen", not "linden"), then the
        # word more products use, then the shorter (a stem-like form)
        best = min(
            hits, key=lambda h: (h[1], Indel.distance(word, h[0]), -self.counts[h[0]], len(h[0]), h[0])
        )
        return best[0]

    def names(self, phrase: Sequence[str]) -> bool:
        """Is some product called this? Its last word (the kind) in a name, tags or category ("helmet"
        mentioned in a description does not count), and the words before it together there too or at least
        known to the catalog."""
        stems_ = [stem(w) for w in phrase]
        if stems_[-1] not in self.kinds:
            return False
        # "2 person tent": a tent, with words the catalog uses; "football boots": boots of a kind it lacks
        return all(pair in self.kind_pairs for pair in itertools.pairwise(stems_)) or all(
            self.frequency(w) > 0 for w in phrase[:-1]
        )

    def pairs_with(self, word: str, neighbour: str) -> bool:
        """Do catalog texts use `word` right beside `neighbour` (either order)?"""
        a, b = stem(word), stem(neighbour)
        return (a, b) in self.bigrams or (b, a) in self.bigrams

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
    """Terms a query may name (`terms`), each finding the others and `targets`; a term is a phrase.

    "couch, sofa, settee": any of them finds the others. "sundress => dress": a query for a sundress also
    finds dresses, not the other way round."""

    terms: tuple[str, ...]
    targets: tuple[str, ...] = ()

    def phrases(self) -> list[tuple[str, ...]]:
        return [tuple(stems(t)) for t in self.terms]


def _clean(terms: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(" ".join(words(t)) for t in terms if words(t)))


def parse_synonym_line(line: str) -> SynonymGroup | None:
    """One group: "a, b, c" (interchangeable) or "a, b => c, d" (a and b also find c and d); None if empty
    or a group of one."""
    line = line.split("#", 1)[0].strip()
    if "=>" in line:
        left, right = line.split("=>", 1)
        group = SynonymGroup(_clean(left.split(",")), _clean(right.split(",")))
        return group if group.terms and group.targets else None
    group = SynonymGroup(_clean(line.split(",")))
    return group if len(group.terms) > 1 else None


class Synonyms:
    """Groups of interchangeable terms (or one-way expansions), one group per line, comma-separated; `#`
    starts a comment. The shipped list and the merchant's own are merged (`with_groups`)."""

    def __init__(self, groups: Sequence[SynonymGroup]) -> None:
        self.groups = list(groups)
        self.words = frozenset(w for g in self.groups for t in g.terms for w in t.split())
        self._by_first_stem: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        for index, group in enumerate(self.groups):
            for phrase in group.phrases():
                self._by_first_stem.setdefault(phrase[0], []).append((phrase, index))

    @classmethod
    def parse(cls, text: str) -> Synonyms:
        groups = [parse_synonym_line(line) for line in text.splitlines()]
        return cls([g for g in groups if g is not None])

    @classmethod
    def load(cls, path: Path | None) -> Synonyms:
        return cls.parse((path or DEFAULT_SYNONYMS).read_text(encoding="utf-8"))

    def with_groups(self, extra: Sequence[SynonymGroup]) -> Synonyms:
        """These groups and `extra` (the merchant's own, added in the console)."""
        return Synonyms([*self.groups, *extra])

    def expansions(self, query_words: Sequence[str]) -> list[tuple[tuple[int, int], list[str]]]:
        """For each span of `query_words` that names a term: ((start, end), the terms it also finds).

        A span naming terms of several groups finds the terms of all of them; the longest span wins."""
        query_stems = [stem(w) for w in query_words]
        found: list[tuple[tuple[int, int], list[str]]] = []
        start = 0
        while start < len(query_stems):
            end, indexes = start, list[int]()
            for phrase, index in self._by_first_stem.get(query_stems[start], []):
                stop = start + len(phrase)
                if tuple(query_stems[start:stop]) != phrase or stop < end:
                    continue
                if stop > end:
                    end, indexes = stop, []
                indexes.append(index)
            if not indexes:
                start += 1
                continue
            spoken = tuple(query_stems[start:end])
            others: dict[str, None] = {}
            for index in indexes:
                group = self.groups[index]
                for term in (*group.terms, *group.targets):
                    if tuple(stems(term)) != spoken:
                        others[term] = None
            found.append(((start, end), list(others)))
            start = end
        return found


DEFAULT_SYNONYMS = Path(__file__).resolve().parent / "synonyms.txt"
