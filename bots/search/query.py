"""Understanding a shopper's query: its meaningful words, their typo corrections and their synonyms."""

from __future__ import annotations

from dataclasses import dataclass, field

from bots.search.lexical import Concept, Phrase, idf
from bots.search.text import Synonyms, Vocabulary, content_words, stem, words

MAX_QUERY_WORDS = 24  # longer input is cut: nobody types more, and it bounds the SQL we build


@dataclass
class ParsedQuery:
    raw: str
    words: list[str]  # every word, typos corrected
    content: list[str]  # meaningful words, typos corrected
    corrections: dict[str, str] = field(default_factory=dict)  # typed -> catalog word
    synonyms: dict[str, list[str]] = field(default_factory=dict)  # query phrase -> other terms
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
        """What the model embeds: the corrected query, with the synonyms the catalog may use instead."""
        extra = [term for terms in self.synonyms.values() for term in terms[:3]]
        return self.corrected + (f" ({', '.join(extra)})" if extra else "")

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
    for w in typed:
        better = None if w in synonyms.words else vocabulary.correct(w)
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
        parsed.synonyms[phrase_text] = others
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
    return min((vocabulary.frequency(w) for w in phrase), default=0)


def concept_stems(concept: Concept) -> list[tuple[str, ...]]:
    return [tuple(stem(w) for w in phrase) for phrase in concept.phrases]
