"""Understanding a shopper's query: its meaningful words, their typo corrections and their synonyms."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from bots.search.lexical import Concept, Phrase, idf
from bots.search.text import Synonyms, Vocabulary, content_words, stem, words

MAX_QUERY_WORDS = 24  # longer input is cut: nobody types more, and it bounds the SQL we build
MAX_WORDINGS = 4  # the query and up to 3 rewordings with synonyms: one model call, a few ms


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
    _stemmed: list[tuple[float, list[tuple[str, ...]]]] | None = field(
        default=None, repr=False, compare=False
    )

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

    def stemmed_concepts(self) -> list[tuple[float, list[tuple[str, ...]]]]:
        """(idf, the stems of each phrase) per concept, computed once per query (coverage asks per product)."""
        if self._stemmed is None:
            self._stemmed = [(c.idf, concept_stems(c)) for c in self.concepts]
        return self._stemmed


def parse(raw: str, vocabulary: Vocabulary, synonyms: Synonyms, catalog_size: int) -> ParsedQuery:
    typed = words(raw)[:MAX_QUERY_WORDS]
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
        parsed.concepts.append(Concept(((w,),), idf(frequency, total)))
    return parsed


def _phrase_frequency(phrase: Phrase, vocabulary: Vocabulary) -> int:
    """Products using the phrase, about: its rarest word, or its rarest pair of adjacent words."""
    if len(phrase) > 1:
        return min(vocabulary.bigrams.get(pair, 0) for pair in itertools.pairwise(phrase))
    return min((vocabulary.frequency(w) for w in phrase), default=0)


def concept_stems(concept: Concept) -> list[tuple[str, ...]]:
    return [tuple(stem(w) for w in phrase) for phrase in concept.phrases]
