"""Search through the real parts: commerce's importer, the worker's indexing job, both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

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
