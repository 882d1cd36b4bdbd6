"""Ranking metrics with graded relevance (2 = what the shopper wants, 1 = acceptable)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def dcg(gains: Sequence[float]) -> float:
    return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    ideal = dcg(sorted(relevant.values(), reverse=True)[:k])
    if ideal == 0:
        return 1.0 if not ranked else 0.0
    return dcg([relevant.get(h, 0) for h in ranked[:k]]) / ideal


def recall_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    wanted = [h for h, g in relevant.items() if g > 0]
    if not wanted:
        return 1.0 if not ranked else 0.0
    return len(set(ranked[:k]) & set(wanted)) / len(wanted)


def reciprocal_rank(ranked: Sequence[str], relevant: Mapping[str, int]) -> float:
    if not relevant:
        return 1.0 if not ranked else 0.0
    for i, h in enumerate(ranked, start=1):
        if relevant.get(h, 0) > 0:
            return 1.0 / i
    return 0.0
