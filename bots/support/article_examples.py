"""Questions each help article answers (article_questions.yaml, and every article's title): retrieval by
meaning compares a shopper's message with these as well as with the articles' passages.

A passage says how things work ("Alerts stay active for 90 days"); a shopper asks ("do restock alerts
expire?"). A question is nearer a question than a statement, so an article's score is the mean of its best
passage's cosine and the mean cosine of its 2 nearest example questions (measured on the dev sets with
`engage eval bot`: either alone ranks the right article first less often than the two together; the 2 nearest
beat the nearest alone once there were ~25 examples per article, written in many voices).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import numpy as np
import yaml

from bots.embeddings import Embedder

log = logging.getLogger("engage.bot")

QUESTIONS = Path(__file__).resolve().parent / "article_questions.yaml"
K = 2  # nearest example questions averaged per article


def load_questions(path: Path = QUESTIONS) -> dict[str, list[str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(slug): [str(t) for t in texts or []] for slug, texts in data.items()}


class ArticleExamples:
    """The example questions' vectors (embedded once per process) and the titles' (embedded when a title is
    new: an article added or renamed in the help centre is found by its title until it has examples)."""

    def __init__(self, questions: dict[str, list[str]] | None = None) -> None:
        self.questions = questions if questions is not None else load_questions()
        self.labels: list[str] = [slug for slug, texts in self.questions.items() for _ in texts]
        self.texts: list[str] = [t for texts in self.questions.values() for t in texts]
        self.matrix: np.ndarray | None = None
        self.titles: dict[str, np.ndarray] = {}  # title -> vector
        self._lock = asyncio.Lock()
        self._embedding: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self.matrix is not None

    async def ensure_embedded(self, embedder: Embedder, titles: list[str] | None = None) -> None:
        missing = [t for t in dict.fromkeys(titles or []) if t not in self.titles]
        if self.matrix is not None and not missing:
            return
        async with self._lock:
            if self.matrix is None:
                self.matrix = await embedder.embed(self.texts)
            missing = [t for t in missing if t not in self.titles]
            if missing:
                self.titles.update(zip(missing, await embedder.embed(missing), strict=True))

    async def _embed_quietly(self, embedder: Embedder, titles: list[str]) -> None:
        try:
            await self.ensure_embedded(embedder, titles)
        except Exception:  # the model went away (shutting down): the next question tries again
            log.info("article examples not embedded", exc_info=True)

    def start_embedding(self, embedder: Embedder, titles: list[str]) -> None:
        """Embed in the background (a shopper's question never waits: the passages alone rank meanwhile)."""
        if self._embedding is None or self._embedding.done():
            self._embedding = asyncio.get_running_loop().create_task(self._embed_quietly(embedder, titles))

    def covers(self, articles: dict[str, str]) -> bool:
        """Ready to score these articles (slug -> title): the examples and every title are embedded."""
        return self.matrix is not None and all(title in self.titles for title in articles.values())

    def scores(self, vector: np.ndarray, articles: dict[str, str]) -> dict[str, float]:
        """Each article's (slug -> title) mean cosine of its `K` nearest example questions (its title among
        them) with a unit vector: one example sharing a word ("jacket") with the message is not enough."""
        assert self.matrix is not None, "ensure_embedded first"
        sims: dict[str, list[float]] = {slug: [] for slug in articles}
        for slug, sim in zip(self.labels, (self.matrix @ vector).tolist(), strict=True):
            if slug in sims:
                sims[slug].append(sim)
        for slug, title in articles.items():
            title_vector = self.titles.get(title)
            if title_vector is not None:
                sims[slug].append(float(title_vector @ vector))
        return {slug: float(np.mean(sorted(s)[-K:])) for slug, s in sims.items() if s}
