"""Writing the search index: a product's lexical document and its embedding, only when its text changed.

Changed products wait in the backlog (bots/search/backlog.py); one drainer at a time (bots/draining.py)
takes them in bounded batches: read, embed with no transaction open, write and settle the marks in one
short transaction, then `search.indexed` tells every process to refresh its in-memory index.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bots import draining
from bots.embeddings import DIMENSIONS, Embedder, to_bytes
from bots.search import backlog
from bots.search.documents import ProductCard, load_cards
from bots.search.events import Indexed
from bots.search.lexical import LexicalBackend
from bots.search.models import ProductEmbedding, SearchDocument
from commerce.catalog.models import Product
from engage.platform.clock import utcnow
from engage.platform.db import insert_for
from engage.platform.events import record

INDEXED_EVENT = Indexed.type
# Products per transaction: the write lock (SQLite) is held for one batch's writes only, never while the
# model runs, and a batch is small enough that every process's refresh after it is quick.
BATCH = 64
# Products per transaction when only lexical documents are written (no model: milliseconds each).
DOCUMENT_CHUNK = 500
# Documents written in one drain after which the lexical index is compacted (an import, a reindex); fewer
# are left to the database's own maintenance.
COMPACT_AFTER = 1000


@dataclass
class IndexReport:
    seen: int = 0
    documents_written: int = 0
    embedded: int = 0
    removed: int = 0
    changed_ids: list[int] = field(default_factory=list)

    def add(self, other: IndexReport) -> None:
        self.seen += other.seen
        self.documents_written += other.documents_written
        self.embedded += other.embedded
        self.removed += other.removed
        self.changed_ids += other.changed_ids


def _document_hash(card: ProductCard) -> str:
    return hashlib.sha256(f"{card.title}\n{card.keywords}\n{card.body}\n{card.status}".encode()).hexdigest()


def _upsert(session: AsyncSession, model: Any, rows: list[dict[str, Any]], key: str) -> Any:
    insert = insert_for(session)
    stmt = insert(model).values(rows)
    return stmt.on_conflict_do_update(
        index_elements=[key], set_={c: stmt.excluded[c] for c in rows[0] if c != key}
    )


async def _hashes(
    session: AsyncSession, model: str, ids: Sequence[int] | None
) -> tuple[dict[int, str], dict[int, str]]:
    """(document hash, embedding hash) by product id (all products when `ids` is None)."""
    documents = select(SearchDocument.product_id, SearchDocument.content_hash)
    embeddings = select(ProductEmbedding.product_id, ProductEmbedding.content_hash).where(
        ProductEmbedding.model == model
    )
    if ids is not None:
        documents = documents.where(SearchDocument.product_id.in_(list(ids)))
        embeddings = embeddings.where(ProductEmbedding.product_id.in_(list(ids)))
    return (
        {int(pid): h for pid, h in (await session.execute(documents)).all()},
        {int(pid): h for pid, h in (await session.execute(embeddings)).all()},
    )


async def index_products(
    session: AsyncSession,
    embedder: Embedder,
    lexicon: LexicalBackend,
    product_ids: Sequence[int],
    *,
    settle: backlog.Taken | None = None,
) -> IndexReport:
    """Bring these products' search entries up to date (deleted products lose theirs) and commit, settling
    the backlog marks `settle` in the same transaction.

    The model runs between two short transactions, never inside one (on SQLite a transaction holds the
    write lock). The write re-reads the products and keeps only vectors of text that is still current; a
    product changed meanwhile was marked again and comes back in a later batch.
    """
    report = IndexReport()
    ids = list(dict.fromkeys(product_ids))
    model = embedder.model_name
    cards = await load_cards(session, ids)
    _, embedded_hashes = await _hashes(session, model, ids)
    await session.rollback()  # end the read before the slow part
    to_embed = [c for c in cards if embedded_hashes.get(c.id) != c.content_hash(model)]
    texts = [c.embedding_text() for c in to_embed]
    vectors = list(await embedder.embed(texts, bfloat16=True)) if texts else []
    fresh = {c.content_hash(model): v for c, v in zip(to_embed, vectors, strict=True)}

    cards = await load_cards(session, ids)
    report.seen = len(cards)
    now = utcnow()
    stale_documents = await _write_documents(session, lexicon, ids, cards, report, now)

    embedded = [c for c in cards if c.content_hash(model) in fresh]
    if embedded:
        rows = [
            {
                "product_id": c.id,
                "model": model,
                "content_hash": c.content_hash(model),
                "dimensions": DIMENSIONS,
                "vector": to_bytes(fresh[c.content_hash(model)]),
                "updated_at": now,
            }
            for c in embedded
        ]
        await session.execute(_upsert(session, ProductEmbedding, rows, "product_id"))
        report.embedded = len(embedded)

    await backlog.settle(session, settle or [])
    report.changed_ids += sorted({c.id for c in stale_documents} | {c.id for c in embedded})
    if report.changed_ids:
        record(session, Indexed(product_ids=report.changed_ids))
    await session.commit()
    return report


async def _write_documents(
    session: AsyncSession,
    lexicon: LexicalBackend,
    ids: Sequence[int],
    cards: Sequence[ProductCard],
    report: IndexReport,
    now: Any,
) -> list[ProductCard]:
    """Lexical documents of these products brought up to date (deleted products lose theirs); returns the
    cards whose document was written. Does not commit."""
    gone = sorted(set(ids) - {c.id for c in cards})
    if gone:
        await session.execute(delete(SearchDocument).where(SearchDocument.product_id.in_(gone)))
        await lexicon.delete(session, gone)
        report.removed += len(gone)
        report.changed_ids += gone
    documents = {
        int(pid): h
        for pid, h in (
            await session.execute(
                select(SearchDocument.product_id, SearchDocument.content_hash).where(
                    SearchDocument.product_id.in_(list(ids))
                )
            )
        ).all()
    }
    stale = [c for c in cards if documents.get(c.id) != _document_hash(c)]
    if stale:
        rows = [
            {
                "product_id": c.id,
                "title": c.title,
                "keywords": c.keywords,
                "body": c.body,
                "content_hash": _document_hash(c),
                "updated_at": now,
            }
            for c in stale
        ]
        await session.execute(_upsert(session, SearchDocument, rows, "product_id"))
        await lexicon.write(session, stale)
        report.documents_written += len(stale)
    return stale


async def document_backlog(
    sessionmaker: async_sessionmaker[AsyncSession], lexicon: LexicalBackend, *, chunk: int = DOCUMENT_CHUNK
) -> IndexReport:
    """Lexical documents, no model, for products in the backlog that have none yet; commits per chunk.

    A new catalog (the demo seed, an import) is searchable by its words within seconds, long before the
    model has embedded it: search answers from the lexical leg alone until the semantic leg covers the
    catalog (see SearchService.semantic_state). The marks stay: the embedding batches still settle them.
    Products that have a document keep it until their batch (an edit shows when its vector is ready).
    """
    report = IndexReport()
    after = 0
    while True:
        async with sessionmaker() as session:
            ids = await backlog.without_document(session, after, chunk)
            if not ids:
                await session.commit()
                return report
            after = ids[-1]
            cards = await load_cards(session, ids)
            step = IndexReport(seen=len(cards))
            written = await _write_documents(session, lexicon, [c.id for c in cards], cards, step, utcnow())
            step.changed_ids += [c.id for c in written]
            if step.changed_ids:
                record(session, Indexed(product_ids=step.changed_ids))
            await session.commit()
        report.documents_written += step.documents_written
        report.changed_ids += step.changed_ids


async def index_next_batch(
    session: AsyncSession, embedder: Embedder, lexicon: LexicalBackend, *, limit: int = BATCH
) -> IndexReport | None:
    """Index the oldest batch of the backlog; None when the backlog is empty."""
    taken = await backlog.take(session, limit)
    await session.rollback()
    if not taken:
        return None
    return await index_products(session, embedder, lexicon, [pid for pid, _ in taken], settle=taken)


async def drain_backlog(
    sessionmaker: async_sessionmaker[AsyncSession],
    embedder: Embedder,
    lexicon: LexicalBackend,
    holder: str,
    *,
    progress: Callable[[IndexReport], None] | None = None,
) -> IndexReport:
    """Index the backlog until it is empty, as the holder of the indexer's lease."""
    total = IndexReport()

    async def step() -> bool:
        total.add(await document_backlog(sessionmaker, lexicon))  # words first: seconds, not minutes
        async with sessionmaker() as session:
            report = await index_next_batch(session, embedder, lexicon)
        if report is None:
            return False
        total.add(report)
        if progress is not None:
            progress(report)
        return True

    await draining.drain(sessionmaker, backlog.LEASE, holder, step, backlog.waiting)
    if total.documents_written >= COMPACT_AFTER:
        async with sessionmaker() as session:
            await lexicon.compact(session)
            await session.commit()
    return total


async def stale_products(session: AsyncSession, model: str) -> list[int]:
    """Products whose document or embedding is missing or out of date, and documents of deleted products."""
    cards = await load_cards(session)
    documents, embeddings = await _hashes(session, model, None)
    stale = [
        c.id
        for c in cards
        if documents.get(c.id) != _document_hash(c) or embeddings.get(c.id) != c.content_hash(model)
    ]
    return stale + sorted(set(documents) - {c.id for c in cards})


async def reconcile(session: AsyncSession, model: str, *, force: bool = False) -> int:
    """Mark every stale product for indexing (`force`: every product); commits. Returns how many."""
    if force:  # forget what was indexed: every product's text looks changed
        await session.execute(update(ProductEmbedding).values(content_hash=""))
        await session.execute(update(SearchDocument).values(content_hash=""))
    stale = await stale_products(session, model)
    await backlog.mark(session, stale)
    await session.commit()
    return len(stale)


async def product_ids_for_handles(session: AsyncSession, handles: Sequence[str]) -> list[int]:
    rows = await session.scalars(select(Product.id).where(Product.handle.in_(list(handles))))
    return list(rows.all())


async def count_indexed(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(ProductEmbedding)) or 0)
