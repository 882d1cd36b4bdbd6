"""The merchant's own synonyms (console → Search): stored in `search_synonyms`, merged with the shipped list
at query time by every process (`SearchService.reload_synonyms`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.search.models import SearchSynonym
from bots.search.text import SynonymGroup, words
from engage.platform.errors import InvalidInput, NotFound

MAX_TERMS = 20
MAX_TERM_CHARS = 60


@dataclass(frozen=True)
class MerchantSynonym:
    id: int
    terms: list[str]
    maps_to: list[str]  # empty: the terms are interchangeable
    created_at: datetime

    def group(self) -> SynonymGroup:
        return SynonymGroup(tuple(self.terms), tuple(self.maps_to))


def _clean(terms: Sequence[str], field: str) -> list[str]:
    cleaned: dict[str, None] = {}
    for term in terms:
        if "," in term or "=>" in term:
            raise InvalidInput("a term may not contain ',' or '=>': give each term on its own", field=field)
        if len(term.strip()) > MAX_TERM_CHARS:
            raise InvalidInput(f"a term is at most {MAX_TERM_CHARS} characters", field=field)
        phrase = " ".join(words(term))
        if phrase:
            cleaned[phrase] = None
    if len(cleaned) > MAX_TERMS:
        raise InvalidInput(f"at most {MAX_TERMS} terms", field=field)
    return list(cleaned)


def _terms(text: str) -> list[str]:
    return [t for t in text.split(",") if t]


def _of(row: SearchSynonym) -> MerchantSynonym:
    return MerchantSynonym(row.id, _terms(row.terms), _terms(row.targets), row.created_at)


async def list_synonyms(session: AsyncSession) -> list[MerchantSynonym]:
    rows = (await session.scalars(select(SearchSynonym).order_by(SearchSynonym.id))).all()
    return [_of(row) for row in rows]


async def add_synonym(
    session: AsyncSession, terms: Sequence[str], maps_to: Sequence[str] = (), *, created_by: int | None = None
) -> MerchantSynonym:
    """Terms that mean the same ("couch", "sofa"), or terms that also find `maps_to` ("settee" → "sofa").
    Commits."""
    cleaned, targets = _clean(terms, "terms"), _clean(maps_to, "maps_to")
    if targets:
        targets = [t for t in targets if t not in cleaned]
        if not cleaned or not targets:
            raise InvalidInput("give a term and at least one other term it should find", field="maps_to")
    elif len(cleaned) < 2:
        raise InvalidInput("give at least two different terms (or a term and maps_to)", field="terms")
    row = SearchSynonym(terms=",".join(cleaned), targets=",".join(targets), created_by=created_by)
    session.add(row)
    await session.commit()
    return _of(row)


async def delete_synonym(session: AsyncSession, synonym_id: int) -> None:
    row = await session.get(SearchSynonym, synonym_id)
    if row is None:
        raise NotFound("no such synonym")
    await session.delete(row)
    await session.commit()
