"""`engage eval search`: nDCG@10, recall@10 and MRR per leg and per query kind, through the real service."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean

from bots.evaluation.metrics import ndcg_at, recall_at, reciprocal_rank
from bots.evaluation.tables import table

LEGS = ("lexical", "semantic", "hybrid")

# (query text, leg) -> handles in ranked order (empty: no good match)
Ranker = Callable[[str, str], Awaitable[list[str]]]


@dataclass
class QueryCase:
    id: str
    query: str
    kind: str
    relevant: dict[str, int]


@dataclass
class Scores:
    ndcg: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    mrr: list[float] = field(default_factory=list)

    def add(self, ranked: Sequence[str], relevant: dict[str, int]) -> None:
        self.ndcg.append(ndcg_at(ranked, relevant, 10))
        self.recall.append(recall_at(ranked, relevant, 10))
        self.mrr.append(reciprocal_rank(ranked, relevant))

    def row(self) -> list[str]:
        return [
            f"{mean(self.ndcg):.3f}",
            f"{mean(self.recall):.3f}",
            f"{mean(self.mrr):.3f}",
            str(len(self.ndcg)),
        ]


def load_cases(path: Path) -> list[QueryCase]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [QueryCase(q["id"], q["query"], q["kind"], dict(q.get("relevant", {}))) for q in data["queries"]]


def split_of(case: QueryCase, index: int) -> str:
    """Two halves for a held-out check: alternate queries within each kind."""
    return "A" if index % 2 == 0 else "B"


@dataclass
class SearchEvaluation:
    # leg -> kind -> scores; leg -> split -> scores
    by_kind: dict[str, dict[str, Scores]]
    by_split: dict[str, dict[str, Scores]]
    failures: list[tuple[str, str, str, float, list[str]]]  # leg, id, query, ndcg, top handles

    def overall(self, leg: str) -> float:
        return mean(x for s in self.by_kind[leg].values() for x in s.ndcg)

    def report(self, *, details: bool = True) -> str:
        out = []
        kinds = sorted({k for leg in self.by_kind.values() for k in leg})
        for leg in self.by_kind:
            rows = [[kind, *self.by_kind[leg][kind].row()] for kind in kinds if kind in self.by_kind[leg]]
            every = Scores()
            for s in self.by_kind[leg].values():
                every.ndcg += s.ndcg
                every.recall += s.recall
                every.mrr += s.mrr
            rows.append(["all", *every.row()])
            out.append(f"{leg}\n" + table(["kind", "nDCG@10", "recall@10", "MRR", "n"], rows))
        summary = [
            [
                leg,
                f"{self.overall(leg):.3f}",
                *(f"{mean(self.by_split[leg][h].ndcg):.3f}" for h in ("A", "B")),
            ]
            for leg in self.by_kind
        ]
        out.append(
            "nDCG@10 by leg (A/B: alternate queries of each kind, for a held-out check)\n"
            + table(["leg", "all", "half A", "half B"], summary)
        )
        if self.failures and details:
            lines = [
                f"  {leg:8} {qid} {ndcg:.2f} {query!r} -> {', '.join(top) or '(no match)'}"
                for leg, qid, query, ndcg, top in self.failures
            ]
            out.append("queries below nDCG 0.7:\n" + "\n".join(lines))
        return "\n\n".join(out)


async def evaluate(cases: Sequence[QueryCase], rank: Ranker, legs: Sequence[str] = LEGS) -> SearchEvaluation:
    by_kind: dict[str, dict[str, Scores]] = {leg: defaultdict(Scores) for leg in legs}
    by_split: dict[str, dict[str, Scores]] = {leg: defaultdict(Scores) for leg in legs}
    failures = []
    seen_per_kind: dict[str, int] = defaultdict(int)
    halves = {}
    for case in cases:
        halves[case.id] = split_of(case, seen_per_kind[case.kind])
        seen_per_kind[case.kind] += 1
    for leg in legs:
        for case in cases:
            ranked = await rank(case.query, leg)
            by_kind[leg][case.kind].add(ranked, case.relevant)
            by_split[leg][halves[case.id]].add(ranked, case.relevant)
            score = by_kind[leg][case.kind].ndcg[-1]
            if score < 0.7 and leg == "hybrid":
                failures.append((leg, case.id, case.query, score, ranked[:5]))
    return SearchEvaluation(dict(by_kind), dict(by_split), failures)
