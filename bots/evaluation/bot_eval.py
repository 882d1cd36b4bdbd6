"""`engage eval bot`: top-1 accuracy per expected type, and the confusions."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bots.evaluation.tables import table


@dataclass
class BotCase:
    id: str
    text: str
    type: str  # article | intent | none
    target: str | None  # article id or intent name


def load_cases(path: Path) -> list[BotCase]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [BotCase(i["id"], i["text"], i["expect"]["type"], i["expect"].get("id")) for i in data["items"]]


def label(kind: str, target: str | None) -> str:
    return "none" if kind == "none" else f"{kind}:{target}"


# text -> (kind article|intent|none, article id or intent, confidence)
Decider = Callable[[str], Awaitable[tuple[str, str | None, float]]]


@dataclass
class BotEvaluation:
    rows: list[tuple[BotCase, str, str | None, float]]

    def group(self, case: BotCase) -> str:
        return case.target if case.type == "intent" and case.target else case.type

    def accuracy(self, cases: Sequence[tuple[BotCase, str, str | None, float]]) -> float:
        right = sum(1 for c, kind, target, _ in cases if label(kind, target) == label(c.type, c.target))
        return right / len(cases) if cases else 0.0

    @property
    def overall(self) -> float:
        return self.accuracy(self.rows)

    def missed(self, expected: str) -> list[tuple[BotCase, str, str | None, float]]:
        """Cases labelled `expected` (e.g. "intent:human") the bot decided otherwise."""
        return [
            r
            for r in self.rows
            if label(r[0].type, r[0].target) == expected and label(r[1], r[2]) != expected
        ]

    def answered_out_of_scope(self) -> list[tuple[BotCase, str, str | None, float]]:
        """Out-of-scope questions the bot answered as if in scope (an article or an intent)."""
        return [r for r in self.rows if r[0].type == "none" and r[1] != "none"]

    def report(self, *, details: bool = True) -> str:
        groups: dict[str, list[tuple[BotCase, str, str | None, float]]] = defaultdict(list)
        halves: dict[str, list[tuple[BotCase, str, str | None, float]]] = defaultdict(list)
        for i, row in enumerate(self.rows):
            groups[self.group(row[0])].append(row)
            halves["A" if i % 2 == 0 else "B"].append(row)
        lines = [[g, f"{self.accuracy(r):.3f}", str(len(r))] for g, r in sorted(groups.items())]
        lines.append(["all", f"{self.overall:.3f}", str(len(self.rows))])
        out = ["top-1 accuracy by expected type\n" + table(["type", "accuracy", "n"], lines)]
        out.append(
            "held-out check (alternate questions): "
            + ", ".join(f"half {h} {self.accuracy(r):.3f}" for h, r in sorted(halves.items()))
        )
        handoffs = [r for r in self.rows if label(r[0].type, r[0].target) == "intent:human"]
        missed = self.missed("intent:human")
        out.append(
            f"missed handoffs (a request for a person not recognised): {len(missed)} of {len(handoffs)}"
        )
        out.append(
            f"out of scope answered as in scope: {len(self.answered_out_of_scope())} of "
            f"{sum(1 for r in self.rows if r[0].type == 'none')}"
        )
        if not details:
            return "\n\n".join(out)
        wrong = [
            (c, kind, target, conf)
            for c, kind, target, conf in self.rows
            if label(kind, target) != label(c.type, c.target)
        ]
        confusions = Counter((label(c.type, c.target), label(kind, target)) for c, kind, target, _ in wrong)
        if wrong:
            out.append(
                "confusions (expected -> got)\n"
                + "\n".join(
                    f"  {c.id} {label(c.type, c.target)} -> {label(kind, target)} ({conf:.2f}): {c.text[:70]!r}"
                    for c, kind, target, conf in wrong
                )
            )
            out.append(
                "confusion counts\n"
                + table(["expected", "got", "n"], [[e, g, str(n)] for (e, g), n in confusions.most_common()])
            )
        return "\n\n".join(out)


async def evaluate(cases: Sequence[BotCase], decide: Decider) -> BotEvaluation:
    rows = []
    for case in cases:
        kind, target, confidence = await decide(case.text)
        rows.append((case, kind, target, confidence))
    return BotEvaluation(rows)
