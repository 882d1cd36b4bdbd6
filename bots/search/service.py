"""Searching the catalog: hybrid ranking, filters, facets, pages, and an honest "no good match"."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bots.embeddings import Embedder, Snapshot, best_rows
from bots.search import merchant_synonyms
from bots.search.documents import ProductCard
from bots.search.index import SearchIndex
from bots.search.lexical import LexicalBackend
from bots.search.query import ParsedQuery, parse
from bots.search.ranking import (
    Candidate,
    Leg,
    RankingConfig,
    coverage,
    fuse,
    in_price_range,
    names_head,
    select,
)
from bots.search.text import Synonyms, fold, words
from engage.platform.errors import InvalidInput

SemanticState = Literal["ready", "warming_up"]
Sort = Literal["relevance", "price_asc", "price_desc", "newest", "popular"]
SORTS: tuple[str, ...] = ("relevance", "price_asc", "price_desc", "newest", "popular")
# (label, lowest cents, highest cents exclusive); None = open
PRICE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("Under $25", 0, 2500),
    ("$25 to $50", 2500, 5000),
    ("$50 to $100", 5000, 10000),
    ("$100 to $200", 10000, 20000),
    ("$200 and up", 20000, None),
)
# The semantic leg is trusted once it sees this share of the published catalog. Below it (the model still
# loading, a new catalog or a large import not yet embedded) the products it has not seen would read cosine
# 0 and fall under every threshold, so search ranks with the lexical leg alone and says so.
SEMANTIC_READY_SHARE = 0.95
CANDIDATES_PER_LEG = 100  # each leg's depth before fusion; the catalog's best matches are in it
MAX_PAGE = 100

# available units by product id; products missing from the answer are treated as unknown
Availability = Callable[[AsyncSession, Sequence[int]], Awaitable[dict[int, int]]]


@dataclass(frozen=True)
class Filters:
    category: str | None = None  # top-level category slug
    brand: str | None = None
    min_price: int | None = None  # cents
    max_price: int | None = None  # cents, inclusive
    in_stock: bool | None = None

    def fingerprint(self) -> str:
        return json.dumps([self.category, self.brand, self.min_price, self.max_price, self.in_stock])


@dataclass
class Hit:
    card: ProductCard
    score: float
    available: int | None

    @property
    def in_stock(self) -> bool | None:
        return None if self.available is None else self.available > 0


@dataclass
class FacetValue:
    value: str
    label: str
    count: int


@dataclass
class Suggestions:
    did_you_mean: str | None = None
    category: str | None = None  # label of a close category, when the query is near one
    popular: list[Hit] = field(default_factory=list)


@dataclass
class SearchResult:
    query: str
    corrected_query: str | None
    items: list[Hit]
    total: int
    next_cursor: str | None
    facets: dict[str, list[FacetValue]]
    suggestions: Suggestions
    no_match: bool
    parsed: ParsedQuery | None = None
    # "warming_up": the semantic leg was not ready, the lexical leg alone ranked these results
    semantic: SemanticState = "ready"
    took_ms: int = 0  # from the query to the page, on this server


class SearchService:
    """One per process (`Bots.search`): reads the in-memory index, asks the DB's lexical leg."""

    def __init__(
        self,
        *,
        index: SearchIndex,
        embedder: Embedder,
        lexicon: LexicalBackend,
        synonyms: Synonyms,
        sessionmaker: async_sessionmaker[AsyncSession],
        availability: Availability | None = None,
        config: RankingConfig | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.lexicon = lexicon
        self.shipped_synonyms = synonyms  # the list the release ships (or ENGAGE_SEARCH_SYNONYMS_FILE)
        self.synonyms = synonyms  # ... with the merchant's own (`reload_synonyms`)
        self._merchant_synonyms_loaded = False
        self.sessionmaker = sessionmaker
        self.availability = availability
        self.config = config or RankingConfig()

    # ---- the query --------------------------------------------------------------------------------------
    async def reload_synonyms(self, session: AsyncSession) -> None:
        """The shipped synonyms with the merchant's own, read again (after a change in the console)."""
        groups = [s.group() for s in await merchant_synonyms.list_synonyms(session)]
        self.synonyms = self.shipped_synonyms.with_groups(groups)
        self._merchant_synonyms_loaded = True

    def understand(self, q: str) -> ParsedQuery:
        return parse(q, self.index.vocabulary, self.synonyms, self.index.published_count)

    def semantic_state(self) -> SemanticState:
        """Can the semantic leg rank now? Not while the model loads (it starts loading here if nobody asked
        yet) nor while it sees less than SEMANTIC_READY_SHARE of the published catalog. Never waits."""
        self.embedder.warm_up()  # returns at once; ready at once if this process has the model already
        if not self.embedder.ready:
            return "warming_up"
        published = self.index.published_count
        if published and self.index.embedded_count < SEMANTIC_READY_SHARE * published:
            return "warming_up"
        return "ready"

    def effective_leg(self, leg: Leg, semantic: SemanticState | None = None) -> Leg:
        """The leg that will rank: hybrid falls back to the lexical leg while the semantic one warms up."""
        return "lexical" if leg == "hybrid" and (semantic or self.semantic_state()) != "ready" else leg

    async def rank(
        self, session: AsyncSession, q: str, *, leg: Leg = "hybrid", config: RankingConfig | None = None
    ) -> tuple[ParsedQuery, list[Candidate]]:
        """Relevant published products for `q`, best first (empty: no good match).

        `hybrid` ranks with the lexical leg alone while the semantic leg warms up (`effective_leg`)."""
        config = config or self.config
        await self.index.ensure_loaded(session)
        if not self._merchant_synonyms_loaded:
            await self.reload_synonyms(session)
        parsed = self.understand(q)
        if parsed.is_empty:
            return parsed, []
        leg = self.effective_leg(leg)
        if session.in_transaction():
            await session.commit()  # no transaction stays open while the model works (SQLite's write lock)
        # both legs at once: the database runs the lexical query while this process scores the vectors
        async with asyncio.TaskGroup() as legs:
            lexical_task = legs.create_task(self._lexical(session, parsed, leg))
            semantic_task = legs.create_task(self._similarities(parsed, leg))
        (snapshot, sims), lexical = semantic_task.result(), lexical_task.result()
        candidates: dict[int, Candidate] = {}
        cards = self.index.cards

        if leg in ("hybrid", "lexical"):
            lexical = [(pid, s) for pid, s in lexical if pid in cards and cards[pid].published]
            best = max((s for _, s in lexical), default=0.0)
            for rank, (pid, score) in enumerate(lexical[:CANDIDATES_PER_LEG], start=1):
                c = candidates.setdefault(pid, Candidate(cards[pid]))
                c.lexical = score / best if best > 0 else 0.0
                c.lexical_rank = rank

        if leg in ("hybrid", "semantic"):
            for rank, card in enumerate(self._most_similar(snapshot, sims, CANDIDATES_PER_LEG), start=1):
                candidates.setdefault(card.id, Candidate(card)).semantic_rank = rank
        pool = [c for c in candidates.values() if in_price_range(c.card, parsed)]
        for c in pool:
            row = snapshot.row_of.get(c.card.id)
            c.semantic = float(sims[row]) if row is not None else 0.0
            c.coverage = coverage(c.card, parsed)
            c.names_head = names_head(c.card, parsed)
        fuse(pool, parsed, leg, config)
        return parsed, select(pool, parsed, leg, config)

    def _most_similar(self, snapshot: Snapshot, sims: np.ndarray, k: int) -> list[ProductCard]:
        """The `k` published products most similar to the query, best first (a partial sort: the top few
        of thousands)."""
        cards = self.index.cards
        found: list[ProductCard] = []
        for depth in (2 * k, len(sims)):  # unpublished or unknown rows are rare: twice as deep is enough
            found = []
            for row in best_rows(sims, depth):
                card = cards.get(int(snapshot.ids[row]))
                if card is not None and card.published:
                    found.append(card)
                    if len(found) == k:
                        return found
            if depth >= len(sims):
                break
        return found

    async def _lexical(self, session: AsyncSession, parsed: ParsedQuery, leg: Leg) -> list[tuple[int, float]]:
        if leg == "semantic":
            return []
        return await self.lexicon.search(session, parsed.concepts, CANDIDATES_PER_LEG * 2)

    async def _similarities(self, parsed: ParsedQuery, leg: Leg = "hybrid") -> tuple[Snapshot, np.ndarray]:
        """The vector index as it is now, and the cosine of each of its rows with the query (all 0 for the
        lexical leg: the model is not asked, it may be loading)."""
        snapshot = self.index.vectors.snapshot()
        if leg == "lexical" or not len(snapshot.ids):
            return snapshot, np.zeros(len(snapshot.ids), np.float32)
        wordings = await self.embedder.embed_queries(parsed.semantic_texts())
        return snapshot, (snapshot.matrix @ wordings.T).max(axis=1)

    # ---- the answer -------------------------------------------------------------------------------------
    async def search(
        self,
        session: AsyncSession,
        q: str,
        *,
        filters: Filters | None = None,
        sort: str = "relevance",
        cursor: str | None = None,
        limit: int = 24,
        leg: Leg = "hybrid",
    ) -> SearchResult:
        started = time.perf_counter()
        filters = filters or Filters()
        if sort not in SORTS:
            raise InvalidInput(f"sort must be one of {', '.join(SORTS)}", field="sort")
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
        if (
            filters.min_price is not None
            and filters.max_price is not None
            and filters.min_price > filters.max_price
        ):
            raise InvalidInput("min_price is above max_price", field="min_price")
        q = " ".join(q.split())[:200]
        fingerprint = hashlib.sha256(f"{fold(q)}|{filters.fingerprint()}|{sort}".encode()).hexdigest()[:16]
        offset = _read_cursor(cursor, fingerprint)

        await self.index.ensure_loaded(session)
        semantic = self.semantic_state()
        leg = self.effective_leg(leg, semantic)
        parsed, ranked = await self.rank(session, q, leg=leg)
        available = await self._availability(session, [c.card.id for c in ranked])
        hits = [Hit(c.card, c.score, available.get(c.card.id)) for c in ranked]
        hits = _tie_break_on_availability(hits)

        facets = _facets(hits, filters)
        shown = [h for h in hits if _passes(h, filters)]
        shown = _sorted(shown, sort)
        page = shown[offset : offset + limit]
        next_cursor = _write_cursor(offset + limit, fingerprint) if offset + limit < len(shown) else None
        suggestions = Suggestions(did_you_mean=parsed.did_you_mean)
        if not hits and not parsed.is_empty and leg != "lexical":
            suggestions = await self._suggest_instead(session, parsed)
        return SearchResult(
            query=q,
            corrected_query=parsed.did_you_mean,
            items=page,
            total=len(shown),
            next_cursor=next_cursor,
            facets=facets,
            suggestions=suggestions,
            no_match=not hits,
            parsed=parsed,
            semantic=semantic,
            took_ms=round((time.perf_counter() - started) * 1000),
        )

    async def _availability(self, session: AsyncSession, product_ids: Sequence[int]) -> dict[int, int]:
        if self.availability is None or not product_ids:
            return {}
        return await self.availability(session, product_ids)

    async def _suggest_instead(self, session: AsyncSession, parsed: ParsedQuery) -> Suggestions:
        """No good match: a spelling the catalog knows, and popular products of the closest category."""
        suggestions = Suggestions(did_you_mean=parsed.did_you_mean)
        snapshot, sims = await self._similarities(parsed)
        near = self._most_similar(snapshot, sims, 5)
        if not near or sims[snapshot.row_of[near[0].id]] < CLOSE_CATEGORY_COSINE:
            return suggestions
        category = Counter(card.category_slug for card in near).most_common(1)[0][0]
        popular = self.index.popular_in(category, 4)
        available = await self._availability(session, [card.id for card in popular])
        suggestions.category = popular[0].category if popular else None
        suggestions.popular = [Hit(card, 0.0, available.get(card.id)) for card in popular]
        return suggestions

    # ---- search as you type -----------------------------------------------------------------------------
    async def suggest(self, session: AsyncSession, prefix: str, limit: int = 8) -> dict[str, list[Any]]:
        """Completions of a partial query: catalog words that start with the last word, and products whose
        name contains what was typed."""
        await self.index.ensure_loaded(session)
        typed = words(prefix)
        if not typed:
            return {"terms": [], "products": []}
        head, last = typed[:-1], typed[-1]
        counts = self.index.vocabulary.counts
        completions = sorted(
            (w for w in counts if w.startswith(last) and w != last), key=lambda w: (-counts[w], w)
        )
        terms = [" ".join([*head, w]) for w in completions[: max(0, limit // 2)]]
        ids = await self.lexicon.titles_containing(session, " ".join(typed), limit * 2)
        cards = [self.index.cards[i] for i in ids if i in self.index.cards and self.index.cards[i].published]
        if len(cards) < limit:
            _, ranked = await self.rank(session, prefix)
            cards += [c.card for c in ranked if c.card not in cards]
        return {"terms": terms, "products": cards[:limit]}


CLOSE_CATEGORY_COSINE = 0.2  # below this the nearest products say nothing about what was meant


def _passes(hit: Hit, f: Filters, *, skip: str | None = None) -> bool:
    card = hit.card
    if skip != "category" and f.category and card.category_slug != f.category:
        return False
    if skip != "brand" and f.brand and fold(card.brand) != fold(f.brand):
        return False
    if skip != "price":
        if f.min_price is not None and card.price_cents < f.min_price:
            return False
        if f.max_price is not None and card.price_cents > f.max_price:
            return False
    return not (skip != "in_stock" and f.in_stock and hit.in_stock is False)


def _facets(hits: Sequence[Hit], f: Filters) -> dict[str, list[FacetValue]]:
    """Counts for each facet over the results that pass every *other* filter (so choices stay visible)."""
    categories: Counter[tuple[str, str]] = Counter()
    brands: Counter[str] = Counter()
    bands: Counter[int] = Counter()
    stock: Counter[bool] = Counter()
    for hit in hits:
        card = hit.card
        if _passes(hit, f, skip="category"):
            categories[(card.category_slug, card.category)] += 1
        if _passes(hit, f, skip="brand") and card.brand:
            brands[card.brand] += 1
        if _passes(hit, f, skip="price"):
            bands[_band(card.price_cents)] += 1
        if _passes(hit, f, skip="in_stock"):
            stock[hit.in_stock is not False] += 1
    return {
        "category": [
            FacetValue(slug, label, n)
            for (slug, label), n in sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "brand": [FacetValue(b, b, n) for b, n in sorted(brands.items(), key=lambda kv: (-kv[1], kv[0]))],
        "price": [
            FacetValue(f"{lo}-{'' if hi is None else hi - 1}", label, bands[i])
            for i, (label, lo, hi) in enumerate(PRICE_BANDS)
            if bands[i]
        ],
        "in_stock": [FacetValue("true", "In stock", stock[True])] if stock[True] else [],
    }


def _band(cents: int) -> int:
    for i, (_, lo, hi) in enumerate(PRICE_BANDS):
        if cents >= lo and (hi is None or cents < hi):
            return i
    return len(PRICE_BANDS) - 1


def _tie_break_on_availability(hits: list[Hit]) -> list[Hit]:
    """Equal relevance (to two decimals): what can be bought now comes first, then the more popular."""
    return sorted(
        hits, key=lambda h: (-round(h.score, 2), h.in_stock is False, -h.card.popularity, h.card.id)
    )


def _sorted(hits: list[Hit], sort: str) -> list[Hit]:
    if sort == "price_asc":
        return sorted(hits, key=lambda h: (h.card.price_cents, h.card.id))
    if sort == "price_desc":
        return sorted(hits, key=lambda h: (-h.card.price_cents, h.card.id))
    if sort == "newest":
        return sorted(hits, key=lambda h: (-h.card.created_at.timestamp(), h.card.id))
    if sort == "popular":
        return sorted(hits, key=lambda h: (-h.card.popularity, h.card.id))
    return hits


def _write_cursor(offset: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "f": fingerprint}).encode()).decode().rstrip("=")


def _read_cursor(cursor: str | None, fingerprint: str) -> int:
    if not cursor:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = int(data["o"])
        same = data["f"] == fingerprint
    except (ValueError, KeyError, TypeError):
        raise InvalidInput("cursor is not valid", field="cursor") from None
    if not same or offset < 0:
        raise InvalidInput("cursor belongs to another search; start again without it", field="cursor")
    return offset
