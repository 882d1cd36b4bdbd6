"""The knowledge base: help articles split into passages, embedded, and searched by meaning (by words while
passages wait for their vectors)."""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bots.embeddings import DIMENSIONS, Embedder, VectorIndex, from_bytes, to_bytes
from bots.search import content_words, stem, stems
from bots.support.events import HelpChanged, HelpEmbedded
from bots.support.models import HelpArticle, HelpPassage
from engage.platform.db import rows_matched
from engage.platform.errors import InvalidInput, NotFound
from engage.platform.events import record

CHANGED_EVENT = HelpChanged.type
EMBEDDED_EVENT = HelpEmbedded.type
LEASE = "help.passages"  # bots.draining lease of the passage embedder
EMBED_TASK = "embed_help_passages"  # the job that drains it (workers/bot.py)
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n?(.*)\Z", re.S)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,118}$")
PASSAGE_WORDS = 90  # short enough for a precise match, long enough to answer on its own


@dataclass(frozen=True)
class ArticleSource:
    slug: str
    title: str
    category: str
    body: str


def parse_article(text: str, *, origin: str = "article") -> ArticleSource:
    """A markdown file with front matter (`id`, `title`, `category`)."""
    match = _FRONT_MATTER.match(text.lstrip("\ufeff"))
    if not match:
        raise InvalidInput(f"{origin}: missing front matter (--- id/title/category ---)")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{origin}: front matter is not valid YAML ({exc})") from None
    return validate(
        str(meta.get("id", "")).strip(),
        str(meta.get("title", "")).strip(),
        str(meta.get("category", "")).strip(),
        match.group(2).strip(),
        origin=origin,
    )


def validate(slug: str, title: str, category: str, body: str, *, origin: str = "article") -> ArticleSource:
    if not _SLUG.match(slug):
        raise InvalidInput(f"{origin}: id must be lower-case letters, digits and dashes", field="id")
    if not title or len(title) > 300:
        raise InvalidInput(f"{origin}: title is required (at most 300 characters)", field="title")
    if not body.strip():
        raise InvalidInput(f"{origin}: the article has no text", field="body")
    if len(body) > 100_000:
        raise InvalidInput(f"{origin}: the article is longer than 100,000 characters", field="body")
    return ArticleSource(slug, title, category[:120], body.strip())


def split_passages(body: str) -> list[str]:
    """Paragraphs (tables and lists stay whole), merged while short, split at sentences when long."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", body) if b.strip()]
    passages: list[str] = []
    for block in blocks:
        words = block.split()
        if len(words) > PASSAGE_WORDS * 1.5 and not block.lstrip().startswith(("|", "-", "*", "1.")):
            sentences = re.split(r"(?<=[.!?])\s+", block)
            current: list[str] = []
            for sentence in sentences:
                if current and len(" ".join(current).split()) + len(sentence.split()) > PASSAGE_WORDS:
                    passages.append(" ".join(current))
                    current = []
                current.append(sentence)
            if current:
                passages.append(" ".join(current))
        elif passages and len(passages[-1].split()) + len(words) < PASSAGE_WORDS // 2:
            passages[-1] = passages[-1] + "\n\n" + block
        else:
            passages.append(block)
    return passages


def plain(markdown: str) -> str:
    """Markdown without its markup, for embedding and for answers read in a chat."""
    text = re.sub(r"\*\*|__|`", "", markdown)
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    text = re.sub(r"^\s*\|?[-:| ]+\|?\s*$", "", text, flags=re.M)
    text = re.sub(r"^\s*[-*]\s+", "", text, flags=re.M)
    text = text.replace("|", " ")
    return re.sub(r"[ \t]+", " ", text).strip()


def _hash(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\n{text}".encode()).hexdigest()


def embedding_text(title: str, passage: str) -> str:
    return f"{title}. {plain(passage)}"


async def save_article(
    session: AsyncSession, model: str, source: ArticleSource, *, only_new: bool = False
) -> tuple[HelpArticle, bool]:
    """Create or update an article; commits. Returns (article, changed).

    Passages whose text is unchanged keep their vectors; new ones wait (vector NULL) for the embedding job,
    which `help.changed` starts. `only_new` leaves an existing article untouched (import without overwrite).
    """
    article = await session.scalar(
        select(HelpArticle).where(HelpArticle.slug == source.slug).options(selectinload(HelpArticle.passages))
    )
    if article is not None and only_new:
        await session.commit()
        return article, False
    if article is None:
        article = HelpArticle(
            slug=source.slug, title=source.title, category=source.category, body=source.body
        )
        article.passages = []
        session.add(article)
    elif (article.title, article.category, article.body) == (source.title, source.category, source.body):
        await session.commit()
        return article, False
    article.title, article.category, article.body = source.title, source.category, source.body

    texts = split_passages(source.body)
    wanted = [_hash(model, embedding_text(source.title, t)) for t in texts]
    existing = {p.content_hash: p.vector for p in article.passages if p.model == model and p.vector}
    article.passages = []
    await session.flush()  # old passages go first: positions are unique per article
    article.passages = [
        HelpPassage(
            position=i, text=text, model=model, content_hash=wanted[i], vector=existing.get(wanted[i])
        )
        for i, text in enumerate(texts)
    ]
    await session.flush()
    record(session, HelpChanged(slug=source.slug))
    await session.commit()
    return article, True


def _unembedded(model: str) -> Any:
    return or_(HelpPassage.vector.is_(None), HelpPassage.model != model)


async def passages_waiting(session: AsyncSession, model: str) -> bool:
    return await session.scalar(select(HelpPassage.id).where(_unembedded(model)).limit(1)) is not None


async def embed_next_passages(session: AsyncSession, embedder: Embedder, *, limit: int = 64) -> int:
    """Embed up to `limit` passages that have no vector (of this model) yet; commits. Returns how many.

    The model runs with no transaction open; a passage whose text changed meanwhile is left for the next
    batch (its content hash no longer matches).
    """
    model = embedder.model_name
    rows = (
        await session.execute(
            select(HelpPassage.id, HelpPassage.text, HelpArticle.title)
            .join(HelpArticle, HelpArticle.id == HelpPassage.article_id)
            .where(_unembedded(model))
            .order_by(HelpPassage.id)
            .limit(limit)
        )
    ).all()
    await session.rollback()
    if not rows:
        return 0
    texts = [embedding_text(title, text) for _, text, title in rows]
    vectors = await embedder.embed(texts)
    done = 0
    for (passage_id, _, _), text, vector in zip(rows, texts, vectors, strict=True):
        result = await session.execute(
            update(HelpPassage)
            .where(HelpPassage.id == passage_id, HelpPassage.content_hash == _hash(model, text))
            .values(vector=to_bytes(vector), model=model)
        )
        done += rows_matched(result)
    record(session, HelpEmbedded(passages=done))
    await session.commit()
    return done


async def forget_vectors(session: AsyncSession) -> None:
    """Every passage waits to be embedded again (`engage reindex --force`). Does not commit."""
    await session.execute(update(HelpPassage).values(vector=None))


async def delete_article(session: AsyncSession, slug: str) -> None:
    article = await session.scalar(select(HelpArticle).where(HelpArticle.slug == slug))
    if article is None:
        raise NotFound(f"no help article {slug!r}")
    await session.delete(article)
    record(session, HelpChanged(slug=slug))
    await session.commit()


def read_directory(directory: Path) -> list[ArticleSource]:
    files = sorted(directory.glob("*.md"))
    if not files:
        raise InvalidInput(f"no .md files in {directory}")
    return [parse_article(f.read_text(encoding="utf-8"), origin=f.name) for f in files]


async def import_directory(
    session: AsyncSession, model: str, directory: Path, *, overwrite: bool = True
) -> tuple[int, int]:
    """(articles read, articles created or changed)."""
    sources = await asyncio.to_thread(read_directory, directory)
    changed = 0
    for source in sources:
        _, did = await save_article(session, model, source, only_new=not overwrite)
        changed += did
    return len(sources), changed


@dataclass(frozen=True)
class Passage:
    id: int
    article_slug: str
    article_title: str
    position: int
    text: str


@dataclass(frozen=True)
class PassageHit:
    passage: Passage
    score: float


@dataclass(frozen=True)
class WordHit(PassageHit):
    """Found by words: `score` is the share of the question's meaningful words, `bm25` ranks."""

    bm25: float = 0.0


class PassageWords:
    """The passages' stems (title included) for retrieval by words: BM25 ranks, and a passage's score is the
    idf-weighted share of the question's meaningful words it contains (0..1, comparable across questions)."""

    K1, B = 1.2, 0.75

    def __init__(self, texts: dict[int, str]) -> None:
        self.terms = {pid: Counter(stems(text)) for pid, text in texts.items()}
        self.lengths = {pid: sum(c.values()) for pid, c in self.terms.items()}
        self.average = (sum(self.lengths.values()) / len(self.lengths)) if self.lengths else 1.0
        self.frequency: Counter[str] = Counter(t for c in self.terms.values() for t in c)

    def idf(self, term: str) -> float:
        n, df = len(self.terms), self.frequency.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def search(self, text: str, k: int) -> list[tuple[int, float, float]]:
        """(passage id, share of the question's words, BM25), best BM25 first."""
        query = {stem(w) for w in content_words(text)}
        if not query or not self.terms:
            return []
        weights = {t: self.idf(t) for t in query}
        total = sum(weights.values()) or 1.0
        scored = []
        for pid, counts in self.terms.items():
            matched = [t for t in query if t in counts]
            if not matched:
                continue
            norm = self.K1 * (1 - self.B + self.B * self.lengths[pid] / self.average)
            bm25 = sum(weights[t] * counts[t] * (self.K1 + 1) / (counts[t] + norm) for t in matched)
            scored.append((sum(weights[t] for t in matched) / total, bm25, pid))
        scored.sort(key=lambda x: (-x[1], -x[0], x[2]))
        return [(pid, share, bm25) for share, bm25, pid in scored[:k]]


class KnowledgeBase:
    """Passages and their vectors in memory (per process), reloaded when `help.changed` arrives.

    Every passage is here, embedded or not: those still waiting for a vector (a new help centre, a large
    import) are found by words (`search_words`) until the embedder catches up (`embedded_share`).
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self.passages: dict[int, Passage] = {}
        self.vectors = VectorIndex(DIMENSIONS)
        self.articles: dict[str, str] = {}  # slug -> title
        self.words = PassageWords({})
        self._loaded = False
        self._lock = asyncio.Lock()
        self._loading = False
        self._stale = False  # changed while the first load was reading
        # (embedded passages, newest embedded id, passages, newest id) at load
        self._seen: tuple[Any, ...] = ()

    @property
    def loaded(self) -> bool:
        return self._loaded

    def changed_while_loading(self) -> None:
        if self._loading:
            self._stale = True

    async def ensure_loaded(self, session: AsyncSession) -> None:
        """Load on first use, through the caller's session (on SQLite a second one would wait for it)."""
        if not self._loaded:
            async with self._lock:
                if not self._loaded:
                    self._loading = True
                    try:
                        await self.load(session)
                        while self._stale:
                            self._stale = False
                            await self.load(session)
                    finally:
                        self._loading = False

    async def _state(self, session: AsyncSession) -> tuple[Any, ...]:
        embedded = (
            await session.execute(
                select(func.count(), func.max(HelpPassage.id)).where(
                    HelpPassage.model == self.model, HelpPassage.vector.is_not(None)
                )
            )
        ).one()
        every = (await session.execute(select(func.count(), func.max(HelpPassage.id)))).one()
        return (*embedded, *every)

    async def catch_up(self, session: AsyncSession) -> bool:
        """Reload if the embedded passages changed since the last load (another process wrote them)."""
        if not self._loaded or await self._state(session) == self._seen:
            return False
        await self.load(session)
        return True

    async def load(self, session: AsyncSession) -> None:
        self._seen = await self._state(session)
        rows = (
            await session.execute(
                select(HelpPassage, HelpArticle.slug, HelpArticle.title)
                .join(HelpArticle, HelpArticle.id == HelpPassage.article_id)
                .order_by(HelpPassage.id)
            )
        ).all()
        passages = {p.id: Passage(p.id, slug, title, p.position, p.text) for p, slug, title in rows}
        embedded = [(p.id, v) for p, _, _ in rows if p.model == self.model and (v := p.vector) is not None]
        matrix = (
            np.vstack([from_bytes(vector) for _, vector in embedded])
            if embedded
            else np.zeros((0, DIMENSIONS), np.float32)
        )
        self.vectors.replace_all([passage_id for passage_id, _ in embedded], matrix)
        self.passages = passages
        self.words = PassageWords({p.id: embedding_text(title, p.text) for p, _, title in rows})
        self.articles = {slug: title for _, slug, title in rows}
        self._loaded = True

    @property
    def embedded_share(self) -> float:
        """The share of passages with a vector (1.0 when there are none at all)."""
        return len(self.vectors) / len(self.passages) if self.passages else 1.0

    def search_words(self, text: str, k: int = 8) -> list[WordHit]:
        """Passages by the question's words, best BM25 first."""
        return [WordHit(self.passages[pid], share, bm25) for pid, share, bm25 in self.words.search(text, k)]

    def search(self, vector: np.ndarray, k: int = 8) -> list[PassageHit]:
        return [
            PassageHit(self.passages[pid], score)
            for pid, score in self.vectors.top(vector, k)
            if pid in self.passages
        ]


async def articles(session: AsyncSession) -> Sequence[HelpArticle]:
    return (
        await session.scalars(select(HelpArticle).order_by(HelpArticle.category, HelpArticle.title))
    ).all()


async def article(session: AsyncSession, slug: str) -> HelpArticle:
    found = await session.scalar(select(HelpArticle).where(HelpArticle.slug == slug))
    if found is None:
        raise NotFound(f"no help article {slug!r}")
    return found
