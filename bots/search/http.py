"""Search door: the search API, suggestions, click tracking, analytics for marketers, reindex for admins."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from bots.search import analytics, merchant_synonyms
from bots.search.live import refresh_synonyms
from bots.search.service import Filters, Hit, SearchResult, SearchService
from engage.http.guards import admin, identity_of, marketer, public
from engage.http.params import Id, OptionalCents
from engage.services import Services

Money = Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]


class Item(msgspec.Struct):
    handle: str
    name: str
    brand: str
    category: str
    category_slug: str
    price_cents: int
    compare_at_cents: int | None
    image: str | None
    url: str
    in_stock: bool | None
    available: int | None
    score: float


class Facet(msgspec.Struct):
    value: str
    label: str
    count: int


class SuggestionsOut(msgspec.Struct):
    did_you_mean: str | None
    category: str | None
    popular: list[Item]


SemanticStatus = Annotated[
    Literal["ready", "warming_up"],
    msgspec.Meta(
        description=(
            "State of the semantic (meaning) leg. `warming_up`: the embedding model is still loading or has "
            "not yet embedded the catalog (e.g. the first minute after a new catalog), so these results were "
            "ranked by words alone (the lexical leg, with its own stricter no-match rule)."
        )
    ),
]


class SearchResponse(msgspec.Struct):
    query: str
    corrected_query: str | None
    no_match: bool
    # true when the results come from a fallback (today: the semantic leg was warming up)
    degraded: Annotated[
        bool, msgspec.Meta(description="Results are from a fallback ranking; see `semantic`.")
    ]
    semantic: SemanticStatus
    items: list[Item]
    total: int
    next_cursor: str | None
    facets: dict[str, list[Facet]]
    suggestions: SuggestionsOut
    search_id: int | None


class Completion(msgspec.Struct):
    terms: list[str]
    products: list[Item]


class Click(msgspec.Struct, forbid_unknown_fields=True):
    search_id: Annotated[int, msgspec.Meta(ge=1)]
    handle: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    position: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None


Term = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]


class SynonymIn(msgspec.Struct, forbid_unknown_fields=True):
    """`terms` mean the same ("couch", "sofa"); with `maps_to`, each term also finds those ("settee" →
    "sofa"), not the other way round."""

    terms: Annotated[list[Term], msgspec.Meta(min_length=1, max_length=20)]
    maps_to: Annotated[list[Term], msgspec.Meta(max_length=20)] = []


class SynonymOut(msgspec.Struct):
    id: int
    terms: list[str]
    maps_to: list[str]
    created_at: str


def synonym_of(s: merchant_synonyms.MerchantSynonym) -> SynonymOut:
    return SynonymOut(s.id, s.terms, s.maps_to, s.created_at.isoformat())


def item_of(hit: Hit) -> Item:
    card = hit.card
    return Item(
        handle=card.handle,
        name=card.name,
        brand=card.brand,
        category=card.category,
        category_slug=card.category_slug,
        price_cents=card.price_cents,
        compare_at_cents=card.compare_at_cents,
        image=card.image,
        url=f"/products/{card.handle}",
        in_stock=hit.in_stock,
        available=hit.available,
        score=round(hit.score, 4),
    )


def response_of(result: SearchResult, search_id: int | None) -> SearchResponse:
    return SearchResponse(
        query=result.query,
        corrected_query=result.corrected_query,
        no_match=result.no_match,
        degraded=result.semantic != "ready",
        semantic=result.semantic,
        items=[item_of(h) for h in result.items],
        total=result.total,
        next_cursor=result.next_cursor,
        facets={k: [Facet(f.value, f.label, f.count) for f in v] for k, v in result.facets.items()},
        suggestions=SuggestionsOut(
            did_you_mean=result.suggestions.did_you_mean,
            category=result.suggestions.category,
            popular=[item_of(h) for h in result.suggestions.popular],
        ),
        search_id=search_id,
    )


def _service(services: Services) -> SearchService:
    return services.bots.search


class SearchController(Controller):
    path = "/api/search"
    tags = ["search"]

    @get("/", guards=[public], summary="Search the catalog (hybrid lexical + semantic)")
    async def search(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        db_session: AsyncSession,
        q: Annotated[str, Parameter(min_length=1, max_length=200)],
        category: Annotated[str | None, Parameter(max_length=120)] = None,
        brand: Annotated[str | None, Parameter(max_length=120)] = None,
        min_price: OptionalCents = None,
        max_price: OptionalCents = None,
        in_stock: bool | None = None,
        sort: Annotated[
            str, Parameter(description="relevance, price_asc, price_desc, newest, popular")
        ] = "relevance",
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 24,
    ) -> SearchResponse:
        filters = Filters(category, brand, min_price, max_price, in_stock)
        result = await _service(services).search(
            db_session, q, filters=filters, sort=sort, cursor=cursor, limit=limit
        )
        search_id = None
        if (
            cursor is None and result.parsed is not None and not result.parsed.is_empty
        ):  # one log row per search, not per page
            ident = identity_of(request)
            owner = ident.owner_key if (ident.user_id or ident.guest_id) else None
            search_id = await analytics.log_search(
                db_session, result.query, result.total, owner, took_ms=result.took_ms
            )
        return response_of(result, search_id)

    @get("/suggest", guards=[public], summary="Search-as-you-type completions")
    async def suggest(
        self,
        services: Services,
        db_session: AsyncSession,
        q: Annotated[str, Parameter(min_length=1, max_length=100)],
        limit: Annotated[int, Parameter(ge=1, le=20)] = 8,
    ) -> Completion:
        found = await _service(services).suggest(db_session, q, limit)
        return Completion(
            terms=found["terms"], products=[item_of(Hit(c, 0.0, None)) for c in found["products"]]
        )

    @post("/clicks", guards=[public], status_code=204, summary="A result of a search was opened")
    async def click(self, request: Request[Any, Any, Any], db_session: AsyncSession, data: Click) -> None:
        ident = identity_of(request)
        owner = ident.owner_key if (ident.user_id or ident.guest_id) else None
        await analytics.record_click(db_session, data.search_id, data.handle, data.position, owner)

    @get("/analytics/zero-results", guards=[marketer], summary="Queries that found nothing, most asked first")
    async def zero_results(
        self, db_session: AsyncSession, days: Annotated[int, Parameter(ge=1, le=365)] = 30
    ) -> list[analytics.QueryStat]:
        return await analytics.zero_result_queries(db_session, days)

    @get("/analytics/summary", guards=[marketer], summary="Searches, click-through and conversion")
    async def summary(
        self,
        services: Services,
        db_session: AsyncSession,
        days: Annotated[int, Parameter(ge=1, le=365)] = 30,
        start: Annotated[
            date | None, Parameter(query="from", description="first day, shop's time zone")
        ] = None,
        end: Annotated[date | None, Parameter(query="to", description="last day (inclusive)")] = None,
    ) -> dict[str, Any]:
        """The last `days` days, or the days `from`..`to` of the shop's time zone (both, at most 366)."""
        return await analytics.figures(
            db_session, days=days, start=start, end=end, timezone=services.settings.push_default_timezone
        )

    @post("/reindex", guards=[admin], status_code=202, summary="Re-embed and re-index the whole catalog")
    async def reindex(self, services: Services) -> dict[str, str]:
        await services.runtime.jobs.enqueue("reindex_catalog")
        return {"status": "queued"}


class SynonymController(Controller):
    """The merchant's own search synonyms, merged with the shipped list in every process."""

    path = "/api/search/synonyms"
    tags = ["search"]

    @get("/", guards=[marketer], summary="The merchant's own synonyms")
    async def list_synonyms(self, db_session: AsyncSession) -> list[SynonymOut]:
        return [synonym_of(s) for s in await merchant_synonyms.list_synonyms(db_session)]

    @post("/", guards=[marketer], status_code=201, summary="Add a synonym group (applies at once)")
    async def add_synonym(
        self, request: Request[Any, Any, Any], services: Services, db_session: AsyncSession, data: SynonymIn
    ) -> SynonymOut:
        added = await merchant_synonyms.add_synonym(
            db_session, data.terms, data.maps_to, created_by=identity_of(request).user_id
        )
        await _applied(services)
        return synonym_of(added)

    @delete("/{synonym_id:int}", guards=[marketer], status_code=204, summary="Remove a synonym group")
    async def delete_synonym(self, services: Services, db_session: AsyncSession, synonym_id: Id) -> None:
        await merchant_synonyms.delete_synonym(db_session, synonym_id)
        await _applied(services)


async def _applied(services: Services) -> None:
    """This process reads the synonyms again now; the others when the note reaches them."""
    await refresh_synonyms(services.bots.search)
    await services.bots.notes.announce(synonyms=True)
