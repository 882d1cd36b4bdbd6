"""Search through the real parts: commerce's importer, the worker's indexing job, both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bots.embeddings.vectors import best_rows
from commerce.catalog import import_catalog
from commerce.catalog.editing import product_changed
from commerce.catalog.models import Product
from engage.demo import DATA
from engage.platform.migrations import upgrade
from engage.services import Services
from engage.wiring import build
from tests.bots.conftest import fresh_postgres, settle
from tests.conftest import TEST_ENV, settings_from

QUERIES = ["Sonorel Aura ANC headphones", "sleping bag", "rucksack", "cast iron pan 26 cm", "yoga mat"]


async def _catalog_runtime(env: dict[str, str]) -> Services:
    settings = settings_from(env)
    await upgrade(settings.db_url)
    services = build(settings, run_cron=False)
    await services.start()
    async with services.sessionmaker() as session:
        data = (DATA / "products.json").read_bytes()
        await import_catalog(session, data, fmt="json", default_threshold=5)
    await settle(services)  # product.changed -> the backlog -> the indexing job (in process here)
    return services


@pytest.fixture(scope="module")
async def sqlite_runtime(tmp_path_factory) -> AsyncIterator[Services]:
    env = {
        **TEST_ENV,
        "ENGAGE_DATA_DIR": str(tmp_path_factory.mktemp("search")),
        "ENGAGE_DATABASE_URL": "",
        "ENGAGE_REDIS_URL": "",
    }
    services = await _catalog_runtime(env)
    yield services
    await services.stop()


@pytest.fixture(scope="module")
async def postgres_runtime() -> AsyncIterator[Services]:
    """A database of its own: other tests' products must not change what "the same results" means."""
    async with fresh_postgres("search") as url:
        services = await _catalog_runtime({**TEST_ENV, "ENGAGE_DATABASE_URL": url, "ENGAGE_REDIS_URL": ""})
        yield services
        await services.stop()


async def _top(services: Services, q: str, n: int = 3) -> list[str]:
    search = services.bots.search
    async with services.sessionmaker() as session:
        result = await search.search(session, q, limit=n)
    return [hit.card.handle for hit in result.items]


async def test_postgres_and_sqlite_return_the_same_top_results(sqlite_runtime, postgres_runtime) -> None:
    for q in QUERIES:
        on_sqlite, on_postgres = await _top(sqlite_runtime, q), await _top(postgres_runtime, q)
        assert on_sqlite and on_sqlite[0] == on_postgres[0], (q, on_sqlite, on_postgres)
    assert await _top(sqlite_runtime, "Sonorel Aura ANC headphones", 1) == ["aud-001"]
    assert await _top(postgres_runtime, "sleping bag", 1) == ["out-003"]


async def test_stock_of_the_results_is_the_same_on_both_databases(sqlite_runtime, postgres_runtime) -> None:
    """PostgreSQL reads the variants' stock with one array parameter, SQLite through commerce's `levels`."""
    found = []
    for services in (sqlite_runtime, postgres_runtime):
        async with services.sessionmaker() as session:
            result = await services.bots.search.search(session, "headphones", limit=10)
        found.append({hit.card.handle: hit.available for hit in result.items})
    both = found[0].keys() & found[1].keys()  # the lexical legs rank a little differently
    assert len(both) >= 5 and {h: found[0][h] for h in both} == {h: found[1][h] for h in both}
    assert 0 in found[0].values() and max(found[0].values()) > 0  # a sold-out product among them


async def test_product_vectors_are_the_models_within_bfloat16_rounding(sqlite_runtime) -> None:
    """Product indexing embeds in bfloat16 where the CPU has it; everything else stays float32, unchanged."""
    from bots.embeddings.model import encode

    search = sqlite_runtime.bots.search
    cards = sorted(search.index.cards.values(), key=lambda c: c.id)[:16]
    texts = [c.embedding_text() for c in cards]
    exact = encode(texts)
    stored = np.vstack([search.index.vectors.vector_of(c.id) for c in cards])
    assert (stored * exact).sum(axis=1).min() > 0.999
    assert np.allclose(await search.embedder.embed(texts), exact, atol=1e-6)


async def test_no_good_match_is_empty_with_suggestions_apart(sqlite_runtime) -> None:
    search = sqlite_runtime.bots.search
    async with sqlite_runtime.sessionmaker() as session:
        result = await search.search(session, "dog food")
        assert result.no_match and result.items == [] and result.total == 0
        typo = await search.search(session, "electirc toothbrush")
    assert typo.items[0].card.handle == "bea-001" and typo.corrected_query == "electric toothbrush"


async def test_filters_facets_and_cursor(sqlite_runtime) -> None:
    from bots.search.service import Filters

    search = sqlite_runtime.bots.search
    async with sqlite_runtime.sessionmaker() as session:
        everything = await search.search(session, "headphones", limit=2)
        assert everything.next_cursor and everything.items[0].in_stock is True
        assert {f.value for f in everything.facets["category"]} >= {"audio-headphones"}
        second = await search.search(session, "headphones", limit=2, cursor=everything.next_cursor)
        assert not {h.card.handle for h in second.items} & {h.card.handle for h in everything.items}
        cheap = await search.search(session, "headphones", filters=Filters(max_price=10000))
    assert cheap.items and all(h.card.price_cents <= 10000 for h in cheap.items)


async def test_updated_product_is_found_by_its_new_words_after_the_worker_runs(sqlite_runtime) -> None:
    services = sqlite_runtime
    assert "aud-016" not in await _top(services, "zanzibar pelican lamp", 5)
    async with services.sessionmaker() as session:
        product = await session.scalar(
            select(Product).where(Product.handle == "aud-016").options(selectinload(Product.variants))
        )
        product.tags = [*product.tags, "zanzibar pelican lamp"]  # a keyword query names what it is
        await session.flush()
        product_changed(session, product)
        await session.commit()
    await settle(services)
    assert (await _top(services, "zanzibar pelican lamp", 1)) == ["aud-016"]


async def test_search_api_logs_queries_and_lists_zero_results(client, make_account) -> None:
    from engage.platform.identity import Role

    res = await client.get("/api/search", params={"q": "quantum teleporter xyzzy"})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["items"] == [] and body["no_match"] is True and body["search_id"] >= 1
    bad = await client.get("/api/search", params={"q": "tent", "sort": "cheapest"})
    assert bad.status_code == 422 and "sort" in bad.text
    marketer = await make_account(Role.marketer)
    shopper = await make_account(Role.customer)
    logged = await client.get("/api/search", params={"q": "lawnmower blades"}, headers=shopper.headers)
    assert logged.json()["search_id"]
    zero = await client.get("/api/search/analytics/zero-results", headers=marketer.headers)
    assert zero.status_code == 200 and any(z["query"] == "lawnmower blades" for z in zero.json())
    forbidden = await client.get("/api/search/analytics/zero-results", headers=shopper.headers)
    assert forbidden.status_code == 403


async def test_search_figures_of_a_period_of_the_shops_days(client, make_account) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import update

    from bots.search.models import SearchQuery
    from engage.platform.identity import Role

    marketer = await make_account(Role.marketer)
    ids = [(await client.get("/api/search", params={"q": q})).json()["search_id"] for q in ("tent", "qwxzv")]
    async with (
        client.app.state.runtime.sessionmaker() as session
    ):  # on the last day of 1999 and the first of 2000
        for search_id, at in zip(
            ids,
            (datetime(1999, 12, 31, 23, 0, tzinfo=UTC), datetime(2000, 1, 1, 1, 0, tzinfo=UTC)),
            strict=True,
        ):
            await session.execute(
                update(SearchQuery).where(SearchQuery.id == search_id).values(created_at=at)
            )
        await session.commit()
    url = "/api/search/analytics/summary"
    day = await client.get(url, params={"from": "2000-01-01", "to": "2000-01-01"}, headers=marketer.headers)
    both = await client.get(url, params={"from": "1999-12-31", "to": "2000-01-01"}, headers=marketer.headers)
    assert (day.json()["searches"], day.json()["days"], both.json()["searches"]) == (1, 1, 2)
    slowest = both.json()["slowest_queries"]
    assert {q["query"] for q in slowest} == {"tent", "qwxzv"} and all(q["took_ms"] >= 0 for q in slowest)
    for wrong in ({"from": "2000-01-02", "to": "2000-01-01"}, {"from": "2000-01-01"}):
        assert (await client.get(url, params=wrong, headers=marketer.headers)).status_code == 422


async def test_synonyms_apply_to_both_legs(sqlite_runtime) -> None:
    """A shipped synonym: the lexical leg looks for the other terms, the model embeds the query reworded."""
    search = sqlite_runtime.bots.search
    parsed = search.understand("trainers")
    assert any(("sneakers",) in c.phrases for c in parsed.concepts)
    assert "sneakers" in parsed.semantic_texts()
    # a merchant's own one-way synonym (a word the catalog and the model know nothing of) finds the product
    # through each leg on its own
    from bots.search import merchant_synonyms

    async with sqlite_runtime.sessionmaker() as session:
        added = await merchant_synonyms.add_synonym(session, ["glimmerhat"], ["headlamp"])
        await search.reload_synonyms(session)
        try:
            for leg in ("lexical", "hybrid"):
                _, ranked = await search.rank(session, "glimmerhat", leg=leg)
                assert ranked and ranked[0].card.handle == "out-005", leg
            # the semantic leg: the model reads "headlamp" for the word it does not know
            parsed = search.understand("glimmerhat")
            assert parsed.semantic_texts() == ["glimmerhat", "headlamp"]
            snapshot, sims = await search._similarities(parsed)
            headlamp = next(c.id for c in search.index.cards.values() if c.handle == "out-005")
            nearest = [int(snapshot.ids[row]) for row in best_rows(sims, 3)]
            assert headlamp in nearest
        finally:
            await merchant_synonyms.delete_synonym(session, added.id)
            await search.reload_synonyms(session)
        _, ranked = await search.rank(session, "glimmerhat")
    assert ranked == []


async def test_typos_of_catalog_words_are_corrected(sqlite_runtime) -> None:
    search = sqlite_runtime.bots.search
    async with sqlite_runtime.sessionmaker() as session:
        frother = await search.search(session, "milk frohter", limit=3)  # "frother": not a tokenizer word
        mat = await search.search(
            session, "yoga matt", limit=3
        )  # a word the catalog knows ("matte"): a typo here
        fryer = await search.search(session, "air fryer", limit=3)  # a real word: not "dryer"
    assert frother.corrected_query == "milk frother" and frother.items[0].card.handle == "kit-012"
    assert mat.corrected_query == "yoga mat" and mat.items[0].card.handle == "run-003"
    assert fryer.corrected_query is None and fryer.items == []


@pytest.mark.parametrize(
    "query", ["coffee beans", "dog food", "printer ink", "do you sell bike helmets for kids", "silk tie"]
)
async def test_what_the_shop_does_not_sell_finds_nothing(sqlite_runtime, query: str) -> None:
    """The no-match rule: the kind of product the query names, not words the descriptions happen to use."""
    assert await _top(sqlite_runtime, query) == []


async def test_a_price_in_the_query_filters(sqlite_runtime) -> None:
    search = sqlite_runtime.bots.search
    async with sqlite_runtime.sessionmaker() as session:
        cheap = await search.search(session, "headphones under $60", limit=10)
    assert cheap.items and all(h.card.price_cents <= 6000 for h in cheap.items)


async def test_synonyms_api_for_marketers(client, make_account) -> None:
    from engage.platform.identity import Role

    marketer = await make_account(Role.marketer)
    shopper = await make_account(Role.customer)
    body = {"terms": ["Couch", "sofa"]}
    assert (await client.post("/api/search/synonyms", json=body, headers=shopper.headers)).status_code == 403
    assert (await client.get("/api/search/synonyms", headers=shopper.headers)).status_code == 403
    assert (await client.get("/api/search/synonyms")).status_code == 401
    made = await client.post("/api/search/synonyms", json=body, headers=marketer.headers)
    assert made.status_code == 201, made.text
    assert made.json()["terms"] == ["couch", "sofa"] and made.json()["maps_to"] == []
    one_way = await client.post(
        "/api/search/synonyms", json={"terms": ["settee"], "maps_to": ["sofa"]}, headers=marketer.headers
    )
    assert one_way.status_code == 201, one_way.text
    for bad in ({"terms": ["sofa"]}, {"terms": ["a, b", "c"]}, {"terms": []}, {"terms": ["x"], "junk": 1}):
        res = await client.post("/api/search/synonyms", json=bad, headers=marketer.headers)
        assert res.status_code in (400, 422), (bad, res.text)
        assert res.headers["content-type"].startswith("application/problem+json")
    listed = (await client.get("/api/search/synonyms", headers=marketer.headers)).json()
    assert {s["id"] for s in listed} >= {made.json()["id"], one_way.json()["id"]}
    gone = await client.delete(f"/api/search/synonyms/{made.json()['id']}", headers=marketer.headers)
    assert gone.status_code == 204
    again = await client.delete(f"/api/search/synonyms/{made.json()['id']}", headers=marketer.headers)
    assert again.status_code == 404
    denied = await client.delete(f"/api/search/synonyms/{one_way.json()['id']}", headers=shopper.headers)
    assert denied.status_code == 403
    page = await client.get("/console/search", headers=marketer.headers)
    assert page.status_code == 200 and "search-console.js" in page.text
