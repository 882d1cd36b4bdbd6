"""Building the search service of a process from its runtime (called by engage/wiring.py)."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bots.embeddings import Embedder
from bots.search.index import SearchIndex
from bots.search.lexical import lexicon_for
from bots.search.service import Availability, SearchService
from bots.search.text import Synonyms
from engage.platform.runtime import Runtime


async def inventory_availability(
    session: AsyncSession, index: SearchIndex, product_ids: Sequence[int]
) -> dict[int, int]:
    """Units available now per product (sum over its variants), from commerce's inventory."""
    from commerce import inventory

    variants = {vid: pid for pid in product_ids if pid in index.cards for vid in index.cards[pid].variant_ids}
    levels = await inventory.levels(session, list(variants))
    totals: dict[int, int] = {}
    for vid, level in levels.items():
        totals[variants[vid]] = totals.get(variants[vid], 0) + max(0, level.available)
    return totals


def install(runtime: Runtime, embedder: Embedder, availability: Availability | None = None) -> SearchService:
    settings = runtime.settings
    index = SearchIndex(settings.embedding_model)
    if availability is None:
        availability = functools.partial(_bound_availability, index)
    return SearchService(
        index=index,
        embedder=embedder,
        lexicon=lexicon_for(runtime.engine.dialect.name),
        synonyms=Synonyms.load(settings.search_synonyms_file),
        sessionmaker=runtime.sessionmaker,
        availability=availability,
    )


async def _bound_availability(
    index: SearchIndex, session: AsyncSession, product_ids: Sequence[int]
) -> dict[int, int]:
    return await inventory_availability(session, index, product_ids)
