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
    # "No good match" (hybrid), calibrated on the dev and original evaluation sets (`engage eval search`;
    # docs/architecture.md): the query is answered when one of the 20 best candidates is a good match.
    # A keyword query (up to 3 words: "car tires") names a kind of product (its head, see query.py): a good
    # match is called that kind (name, tags, category) and holds every concept or is fairly similar
    # (cosine >= named_floor), or is very similar whatever it is called (>= keyword_floor).
    named_floor: float = 0.45
    keyword_floor: float = 0.60
    covered_floor: float = 0.30  # the semantic leg alone: a keyword query needs this cosine
    # A descriptive query ("stay warm at night when camping") dilutes every cosine: a lower floor.
    descriptive_floor: float = 0.20
    descriptive_words: int = 4
    # A query whose head is a kind of product the shop vocabulary knows and no product is called ("dog
    # food", "bike helmets for kids") is answered only by a near-identical product.
    unsold_floor: float = 0.65
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
    names_head: bool = False  # the product's name, tags or category name the kind the query asks for
    score: float = 0.0


def coverage(card: ProductCard, query: ParsedQuery) -> float:
    """The idf-weighted share of the query's concepts the product contains (some phrase of each, whole)."""
    concepts = query.stemmed_concepts()
    if not concepts:
        return 0.0
    stems = card.all_stems
    total = sum(idf for idf, _ in concepts) or 1.0
    hit = sum(idf for idf, phrases in concepts if any(p <= stems for p in phrases))
    return hit / total


def names_head(card: ProductCard, query: ParsedQuery) -> bool:
    """Is the product the kind of thing the query names: its head in the name, tags or category (not only
    somewhere in the description: a coffee grinder's text mentions beans, it is not coffee beans)?"""
    if query.head is None:
        return False
    _, phrases = query.stemmed_concepts()[query.head]
    return any(p - card.title_stems <= card.keyword_stems for p in phrases)  # every stem in one or the other


def in_price_range(card: ProductCard, query: ParsedQuery) -> bool:
    if query.max_price is not None and card.price_cents > query.max_price:
        return False
    return query.min_price is None or card.max_price_cents >= query.min_price


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
    if query.head_unsold:
        return c.semantic >= config.unsold_floor
    if descriptive:
        return c.semantic >= config.descriptive_floor or (c.names_head and c.coverage >= 0.999)
    if leg == "semantic":
        return c.semantic >= config.covered_floor
    named = c.names_head and (c.coverage >= 0.999 or c.semantic >= config.named_floor)
    return named or c.semantic >= config.keyword_floor


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
