"""Fusing the two legs into one ranking, and deciding when there is no good match.

Measured on the evaluation set (`engage eval search`): see docs/architecture.md for the figures that chose
the fusion and the thresholds below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bots.search.documents import ProductCard
from bots.search.query import ParsedQuery

Leg = Literal["hybrid", "lexical", "semantic"]
Fusion = Literal["weighted", "rrf"]


@dataclass(frozen=True)
class RankingConfig:
    fusion: Fusion = "weighted"
    # weighted fusion: share of the semantic evidence (cosine); the lexical evidence has the rest
    semantic_weight: float = 0.7
    # ... for descriptive queries, where a lexical match of some of the words says less
    descriptive_semantic_weight: float = 0.8
    rrf_k: int = 60  # Elasticsearch's default rank constant
    # lexical evidence = lexical score / the query's best, times coverage ** this: a product that matches a
    # few words of a long sentence says little, one that contains every concept says a lot
    coverage_power: float = 2.0
    # A keyword query (up to 3 words: "car tires") names a product: a good match is very similar
    # (cosine >= keyword_floor), or contains every concept and is fairly similar (>= covered_floor).
    keyword_floor: float = 0.40
    covered_floor: float = 0.30
    # A descriptive query ("stay warm at night when camping") dilutes every cosine: a lower floor.
    descriptive_floor: float = 0.20
    descriptive_words: int = 4
    # products whose fused score falls below this share of the best one are not shown
    relative_floor: float = 0.35
    # The lexical leg alone (the semantic one warming up) knows only words: a good match holds at least this
    # idf-weighted share of the query's concepts (keyword / descriptive query). Measured with `engage eval
    # search` (lexical row; docs/architecture.md): any matching word (the old rule) answered both "negative"
    # queries; every concept lost typo queries with a word the catalog lacks, and half of a descriptive
    # query's concepts lost most descriptive queries.
    lexical_keyword_coverage: float = 0.5
    lexical_descriptive_coverage: float = 0.3


@dataclass
class Candidate:
    card: ProductCard
    semantic: float = 0.0  # cosine with the query
    lexical: float = 0.0  # lexical score / best lexical score of the query, 0..1
    lexical_rank: int | None = None
    semantic_rank: int | None = None
    coverage: float = 0.0  # idf-weighted share of the query's concepts the product contains
    score: float = 0.0


def coverage(card: ProductCard, query: ParsedQuery) -> float:
    """The idf-weighted share of the query's concepts the product contains (some phrase of each, whole)."""
    concepts = query.stemmed_concepts()
    if not concepts:
        return 0.0
    stems = card.all_stems
    total = sum(idf for idf, _ in concepts) or 1.0
    hit = sum(idf for idf, phrases in concepts if any(all(s in stems for s in p) for p in phrases))
    return hit / total


def fuse(candidates: Sequence[Candidate], query: ParsedQuery, leg: Leg, config: RankingConfig) -> None:
    descriptive = len(query.words) >= config.descriptive_words
    w = config.descriptive_semantic_weight if descriptive else config.semantic_weight
    for c in candidates:
        if leg == "lexical":
            c.score = c.lexical * (c.coverage**config.coverage_power)
        elif leg == "semantic":
            c.score = c.semantic
        elif config.fusion == "rrf":
            c.score = sum(
                1.0 / (config.rrf_k + rank) for rank in (c.lexical_rank, c.semantic_rank) if rank is not None
            )
        else:
            lexical = c.lexical * (c.coverage**config.coverage_power)
            c.score = w * c.semantic + (1 - w) * lexical


def is_good_match(c: Candidate, query: ParsedQuery, leg: Leg, config: RankingConfig) -> bool:
    descriptive = len(query.words) >= config.descriptive_words
    if leg == "lexical":
        needed = config.lexical_descriptive_coverage if descriptive else config.lexical_keyword_coverage
        return c.lexical > 0 and c.coverage >= needed
    if descriptive:
        return c.semantic >= config.descriptive_floor
    if leg == "semantic":
        return c.semantic >= config.covered_floor
    return c.semantic >= config.keyword_floor or (c.coverage >= 0.999 and c.semantic >= config.covered_floor)


def select(
    candidates: Sequence[Candidate], query: ParsedQuery, leg: Leg, config: RankingConfig
) -> list[Candidate]:
    """The candidates worth showing, best first; empty when nothing is a good match."""
    ranked = sorted(candidates, key=lambda c: (-c.score, c.card.id))
    if not ranked or not any(is_good_match(c, query, leg, config) for c in ranked[:20]):
        return []
    best = ranked[0].score
    if best <= 0:
        return []
    return [c for c in ranked if c.score >= config.relative_floor * best]
