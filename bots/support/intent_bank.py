"""Intents recognised by meaning: the nearest labelled examples (intent_examples.yaml), with the model that
retrieves help passages. The rules in intents.py are the backstop.

A message's score for a label is the mean cosine of its `K` nearest examples of that label; the label with
the best score wins if it is an intent and clears its floor. "question" examples (questions about orders,
support or complaints that an article answers) compete with the intents, so "how do I track an order?"
goes to the knowledge base while "where is my parcel?" is an order-status question.

Long messages are judged by their question (`focus`): a story before it ("I ordered a mug set for a
wedding... what are my options?") says what happened, the question says what the shopper wants.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from bots.embeddings import Embedder

log = logging.getLogger("engage.bot")

EXAMPLES = Path(__file__).resolve().parent / "intent_examples.yaml"
INTENTS = ("human", "greeting", "order_status")
OUT_OF_SCOPE = "out_of_scope"
NOT_AN_INTENT = "question"
PRODUCT_QUESTION = "product"  # a question about a product itself, answered from the catalog
K = 3  # nearest examples per label averaged: one lucky neighbour is not enough
# Messages longer than this many words with two or more sentences are judged by their question.
LONG_MESSAGE_WORDS = 25
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class IntentScores:
    label: str  # the best label: an intent or "question"
    score: float  # its score
    scores: dict[str, float]

    def margin(self) -> float:
        """How far the best label leads the next one."""
        others = sorted((s for label, s in self.scores.items() if label != self.label), reverse=True)
        return self.score - (others[0] if others else 0.0)


def load_examples(path: Path = EXAMPLES) -> dict[str, list[str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(label): [str(t) for t in texts or []] for label, texts in data.items()}


def focus(text: str) -> str | None:
    """The question of a long message: its sentences with a question mark (the last two), else its last
    two sentences; None for a short message (judged whole)."""
    message = text.strip()
    if len(message.split()) <= LONG_MESSAGE_WORDS:
        return None
    sentences = [s.strip() for s in _SENTENCE.split(message) if s.strip()]
    if len(sentences) < 2:
        return None
    asked = [s for s in sentences if "?" in s]
    return " ".join((asked or sentences)[-2:])


class IntentBank:
    """The labelled examples and their vectors (embedded once per process, on first use)."""

    def __init__(self, examples: dict[str, list[str]] | None = None) -> None:
        self.examples = examples if examples is not None else load_examples()
        self.labels: list[str] = [label for label, texts in self.examples.items() for _ in texts]
        self.texts: list[str] = [t for texts in self.examples.values() for t in texts]
        self.matrix: np.ndarray | None = None
        self._lock = asyncio.Lock()
        self._embedding: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self.matrix is not None

    async def ensure_embedded(self, embedder: Embedder) -> None:
        if self.matrix is None:
            async with self._lock:
                if self.matrix is None:
                    self.matrix = await embedder.embed(self.texts)

    async def _embed_quietly(self, embedder: Embedder) -> None:
        try:
            await self.ensure_embedded(embedder)
        except Exception:  # the model went away (shutting down): the next question tries again
            log.info("intent examples not embedded", exc_info=True)

    def start_embedding(self, embedder: Embedder) -> None:
        """Embed in the background (a shopper's question never waits for it: the rules answer meanwhile)."""
        if self.matrix is None and (self._embedding is None or self._embedding.done()):
            self._embedding = asyncio.get_running_loop().create_task(self._embed_quietly(embedder))

    def scores(self, vector: np.ndarray) -> IntentScores:
        """Each label's score for a message vector (unit length) and the best label."""
        assert self.matrix is not None, "ensure_embedded first"
        sims = self.matrix @ vector
        labels = np.array(self.labels)
        scores: dict[str, float] = {}
        for label in self.examples:
            mine = np.sort(sims[labels == label])[::-1][:K]
            scores[label] = float(mine.mean()) if len(mine) else 0.0
        best = max(scores, key=lambda label: scores[label])
        return IntentScores(best, scores[best], scores)
