"""The in-memory side of search in one process: product cards, their vectors and the catalog's vocabulary.

Loaded from the database at first use and refreshed, product by product, when `search.indexed` events
arrive (see workers/search.py); the lexical leg stays in the database. A process that may miss events (the
embedded server, while `engage reindex` runs in another process) also asks the database now and then what
changed since it last looked (`catch_up`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.embeddings import DIMENSIONS, VectorIndex, from_bytes, tokenizer_words
from bots.search.documents import ProductCard, load_cards
from bots.search.models import ProductEmbedding, SearchDocument
from bots.search.text import Vocabulary


class SearchIndex:
    def __init__(self, model: str) -> None:
        self.model = model
        self.cards: dict[int, ProductCard] = {}
        self.by_handle: dict[str, int] = {}
        self.vectors = VectorIndex(DIMENSIONS)
        self.vocabulary = Vocabulary(dictionary=tokenizer_words())
        self._loaded = False
        self._lock = asyncio.Lock()
        self._loading = False
        self._missed: set[int] = set()  # changed while the first load was reading
        self._seen: tuple[Any, ...] = ()  # (documents, newest document, newest vector) when last looked
        self.published_count = 0
        self._popular: dict[str, list[ProductCard]] | None = None  # by category, most popular first
        self._embedded: int | None = None  # published products with a vector (counted when asked)

    @property
    def loaded(self) -> bool:
        return self._loaded

    def __len__(self) -> int:
        return len(self.cards)

    @property
    def embedded_count(self) -> int:
        """Published products the semantic leg can see (a vector in memory); counted once per change."""
        if self._embedded is None:
            cards = self.cards
            self._embedded = sum(
                1 for pid in self.vectors.snapshot().row_of if pid in cards and cards[pid].published
            )
        return self._embedded

    async def ensure_loaded(self, session: AsyncSession) -> None:
        """Load on first use, through the caller's session (on SQLite a second one would wait for it)."""
        if self._loaded:
            return
        async with self._lock:
            if not self._loaded:
                self._loading = True
                try:
                    await self.load(session)
                    while self._missed:  # indexed while we read: read those again
                        missed, self._missed = sorted(self._missed), set()
                        await self.refresh(session, missed)
                finally:
                    self._loading = False

    async def _state(self, session: AsyncSession) -> tuple[Any, ...]:
        documents = (await session.execute(select(func.count(), func.max(SearchDocument.updated_at)))).one()
        newest_vector = await session.scalar(
            select(func.max(ProductEmbedding.updated_at)).where(ProductEmbedding.model == self.model)
        )
        return (int(documents[0]), documents[1], newest_vector)

    async def catch_up(self, session: AsyncSession) -> int:
        """Re-read what was indexed since this process last looked (all of it when documents went away).

        Returns how many products were read again; 0 when nothing changed or the index is not loaded.
        """
        if not self._loaded:
            return 0
        state = await self._state(session)
        if state == self._seen:
            return 0
        seen = self._seen
        if not seen or state[0] < seen[0]:
            await self.load(session)
            return len(self.cards)
        since = min(t for t in seen[1:] if t is not None) if any(seen[1:]) else None
        changed: set[int] = set()
        if since is not None:
            changed |= set(
                (
                    await session.scalars(
                        select(SearchDocument.product_id).where(SearchDocument.updated_at >= since)
                    )
                ).all()
            )
            changed |= set(
                (
                    await session.scalars(
                        select(ProductEmbedding.product_id).where(ProductEmbedding.updated_at >= since)
                    )
                ).all()
            )
        await self.refresh(session, sorted(changed))
        self._seen = state
        return len(changed)

    async def load(self, session: AsyncSession) -> None:
        """Everything that is indexed: products with a search document (published ones are searchable)."""
        self._seen = await self._state(session)
        indexed = set((await session.scalars(select(SearchDocument.product_id))).all())
        cards = [c for c in await load_cards(session) if c.id in indexed]
        vectors = await self._vectors(session, None)
        self.cards = {}
        self.by_handle = {}
        self.vocabulary = Vocabulary(dictionary=tokenizer_words())
        self.published_count = 0
        self._popular = None
        for card in cards:
            self._put(card)
        ids = [pid for pid in vectors if pid in self.cards]
        matrix = np.vstack([vectors[pid] for pid in ids]) if ids else np.zeros((0, DIMENSIONS), np.float32)
        self.vectors.replace_all(ids, matrix)
        self._embedded = None
        self._loaded = True

    async def refresh(self, session: AsyncSession | None, product_ids: Sequence[int]) -> None:
        """Re-read these products (changed, unpublished or deleted) from the database."""
        if not self._loaded or session is None:
            if self._loading:
                self._missed.update(product_ids)
            return
        ids = list(product_ids)
        indexed = set(
            await session.scalars(select(SearchDocument.product_id).where(SearchDocument.product_id.in_(ids)))
        )
        cards = {c.id: c for c in await load_cards(session, ids) if c.id in indexed}
        vectors = await self._vectors(session, ids)
        for pid in ids:
            self._drop(pid)
            if pid in cards:
                self._put(cards[pid])
        self.vectors.remove(ids)
        present = [pid for pid in ids if pid in cards and pid in vectors]
        if present:
            self.vectors.upsert(present, np.vstack([vectors[pid] for pid in present]))
        self._embedded = None

    def _put(self, card: ProductCard) -> None:
        self.cards[card.id] = card
        self.by_handle[card.handle] = card.id
        self._popular = None
        if card.published:
            self.vocabulary.add(card.vocabulary(), card.kind_words())
            self.published_count += 1

    def _drop(self, product_id: int) -> None:
        card = self.cards.pop(product_id, None)
        if card is not None:
            self.by_handle.pop(card.handle, None)
            self._popular = None
            if card.published:
                self.vocabulary.add(card.vocabulary(), card.kind_words(), delta=-1)
                self.published_count -= 1

    def popular_in(self, category_slug: str, limit: int) -> list[ProductCard]:
        """The most popular published products of a top-level category (kept until the index changes)."""
        if self._popular is None:
            popular: dict[str, list[ProductCard]] = {}
            for card in self.cards.values():
                if card.published:
                    popular.setdefault(card.category_slug, []).append(card)
            for members in popular.values():
                members.sort(key=lambda card: (-card.popularity, card.id))
            self._popular = popular
        return self._popular.get(category_slug, [])[:limit]

    async def _vectors(self, session: AsyncSession, ids: Sequence[int] | None) -> dict[int, np.ndarray]:
        stmt = select(ProductEmbedding.product_id, ProductEmbedding.vector).where(
            ProductEmbedding.model == self.model
        )
        if ids is not None:
            stmt = stmt.where(ProductEmbedding.product_id.in_(list(ids)))
        return {pid: from_bytes(blob) for pid, blob in (await session.execute(stmt)).all()}
