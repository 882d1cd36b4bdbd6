"""The lexical leg, in the database: PostgreSQL full-text search (+ pg_trgm), or SQLite FTS5.

A query reaches this leg as concepts: each concept is a list of interchangeable phrases (a word, its typo
correction, its synonyms), and a product matches when it contains any phrase of any concept. Both
backends rank by field (title over keywords over body) and by how rare the matched concepts are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bots.search.documents import ProductCard
from bots.search.text import words

Phrase = tuple[str, ...]


@dataclass(frozen=True)
class Concept:
    phrases: tuple[Phrase, ...]
    idf: float


class LexicalBackend(Protocol):
    async def write(self, session: AsyncSession, cards: Sequence[ProductCard]) -> None: ...

    async def delete(self, session: AsyncSession, product_ids: Sequence[int]) -> None: ...

    async def search(
        self, session: AsyncSession, concepts: Sequence[Concept], limit: int
    ) -> list[tuple[int, float]]: ...

    async def titles_containing(self, session: AsyncSession, fragment: str, limit: int) -> list[int]: ...

    async def compact(self, session: AsyncSession) -> None:
        """After a bulk write: make the index fast to read again (does not commit)."""


def idf(document_frequency: int, total: int) -> float:
    return math.log(1 + (total - document_frequency + 0.5) / (document_frequency + 0.5))


class PostgresLexicon:
    """tsvector with weights A (title), B (keywords), C (body); ts_rank per concept, times its idf."""

    _DOCUMENT = (
        "setweight(to_tsvector('english', :title), 'A') || "
        "setweight(to_tsvector('english', :keywords), 'B') || "
        "setweight(to_tsvector('english', :body), 'C')"
    )

    async def write(self, session: AsyncSession, cards: Sequence[ProductCard]) -> None:
        for card in cards:
            await session.execute(
                text(f"UPDATE search_documents SET document = {self._DOCUMENT} WHERE product_id = :id"),
                {"id": card.id, "title": card.title, "keywords": card.keywords, "body": card.body},
            )

    async def delete(self, session: AsyncSession, product_ids: Sequence[int]) -> None:
        return None  # the rows go with search_documents

    @staticmethod
    def _tsquery(phrases: Sequence[Phrase]) -> str:
        return " | ".join("(" + " <-> ".join(phrase) + ")" for phrase in phrases)

    async def search(
        self, session: AsyncSession, concepts: Sequence[Concept], limit: int
    ) -> list[tuple[int, float]]:
        if not concepts:
            return []
        params: dict[str, object] = {"limit": limit}
        queries, ranks = [], []
        for i, concept in enumerate(concepts):
            params[f"q{i}"] = self._tsquery(concept.phrases)
            params[f"w{i}"] = concept.idf
            queries.append(f"to_tsquery('english', :q{i}) AS q{i}")
            ranks.append(f":w{i} * ts_rank('{{0.1, 0.25, 0.5, 1.0}}', document, q.q{i})")
        params["qall"] = " | ".join(f"({self._tsquery(c.phrases)})" for c in concepts)
        # the queries are parsed once (in the target list a stable function runs again for every row)
        sql = (
            f"WITH q AS MATERIALIZED (SELECT {', '.join(queries)}, to_tsquery('english', :qall) AS qall) "
            f"SELECT product_id, {' + '.join(ranks)} AS score FROM q, search_documents "
            "WHERE document @@ q.qall ORDER BY score DESC, product_id LIMIT :limit"
        )
        rows = (await session.execute(text(sql), params)).all()
        return [(int(pid), float(score)) for pid, score in rows]

    async def compact(self, session: AsyncSession) -> None:
        """After a bulk write: merge the GIN indexes' pending lists (fastupdate), which every search would
        otherwise scan row by row until autovacuum comes (measured: 7 ms of each query at 10,000 products)."""
        for index in ("ix_search_documents_gin_document", "ix_search_documents_trgm_title"):
            await session.execute(
                text("SELECT gin_clean_pending_list(CAST(:index AS regclass))"), {"index": index}
            )

    async def titles_containing(self, session: AsyncSession, fragment: str, limit: int) -> list[int]:
        """Titles containing `fragment` (the pg_trgm GIN index serves ILIKE), most similar first."""
        pattern = "%" + fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = await session.execute(
            text(
                "SELECT product_id FROM search_documents WHERE title ILIKE :pattern "
                "ORDER BY similarity(title, :fragment) DESC, product_id LIMIT :limit"
            ),
            {"pattern": pattern, "fragment": fragment, "limit": limit},
        )
        return [int(pid) for (pid,) in rows]


class SqliteLexicon:
    """FTS5: `search_fts` (porter stemming, bm25 with column weights) and `search_fts_titles` (trigram)."""

    WEIGHTS = (10.0, 4.0, 1.0)  # title, keywords, body

    async def write(self, session: AsyncSession, cards: Sequence[ProductCard]) -> None:
        await self.delete(session, [c.id for c in cards])
        for card in cards:
            params = {"id": card.id, "title": card.title, "keywords": card.keywords, "body": card.body}
            await session.execute(
                text(
                    "INSERT INTO search_fts(rowid, title, keywords, body) VALUES (:id, :title, :keywords, :body)"
                ),
                params,
            )
            await session.execute(
                text("INSERT INTO search_fts_titles(rowid, title) VALUES (:id, :title)"), params
            )

    async def delete(self, session: AsyncSession, product_ids: Sequence[int]) -> None:
        for table in ("search_fts", "search_fts_titles"):
            for pid in product_ids:
                await session.execute(text(f"DELETE FROM {table} WHERE rowid = :id"), {"id": pid})

    @staticmethod
    def _match(concepts: Sequence[Concept]) -> str:
        groups = []
        for concept in concepts:
            groups.append("(" + " OR ".join('"' + " ".join(p) + '"' for p in concept.phrases) + ")")
        return " OR ".join(groups)

    async def search(
        self, session: AsyncSession, concepts: Sequence[Concept], limit: int
    ) -> list[tuple[int, float]]:
        if not concepts:
            return []
        w = self.WEIGHTS
        rows = await session.execute(
            text(
                f"SELECT rowid, -bm25(search_fts, {w[0]}, {w[1]}, {w[2]}) AS score FROM search_fts "
                "WHERE search_fts MATCH :match ORDER BY score DESC, rowid LIMIT :limit"
            ),
            {"match": self._match(concepts), "limit": limit},
        )
        return [(int(pid), float(score)) for pid, score in rows]

    async def compact(self, session: AsyncSession) -> None:
        return None  # FTS5 merges its segments as it goes

    async def titles_containing(self, session: AsyncSession, fragment: str, limit: int) -> list[int]:
        clean = " ".join(words(fragment))
        if len(clean) < 3:  # the trigram tokenizer needs three characters
            return []
        rows = await session.execute(
            text(
                "SELECT rowid FROM search_fts_titles WHERE search_fts_titles MATCH :q "
                "ORDER BY rank, rowid LIMIT :limit"
            ),
            {"q": '"' + clean + '"', "limit": limit},
        )
        return [int(pid) for (pid,) in rows]


def lexicon_for(dialect: str) -> LexicalBackend:
    return PostgresLexicon() if dialect == "postgresql" else SqliteLexicon()
