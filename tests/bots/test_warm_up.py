"""The first minute of a new shop: search and the bot answer by words while the semantic leg warms up.

Real parts throughout: commerce's importer and the help importer leave their work in the backlogs (as the
demo seed and `engage catalog import` do), the indexer's first pass writes only lexical documents, and the
service is asked before a single product or passage has a vector; then the indexer finishes and the same
queries are answered by the hybrid ranking. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bots.search import backlog
from bots.search.indexing import document_backlog
from bots.search.models import ProductEmbedding
from bots.support import knowledge
from bots.support.bot import HANDOFF, OUT_OF_SCOPE, WARMING_UP, Decision, Shopper
from bots.support.conversation import NOT_TOLD, _decide
from bots.support.models import BotAnswer
from bots.wiring import leave_indexing_to_server
from commerce.catalog import Product, Variant, import_catalog
from engage.alerts.models import StockAlert
from engage.auth import create_user
from engage.demo import DATA
from engage.platform.migrations import upgrade
from engage.services import Services
from engage.wiring import build
from tests.bots.conftest import fresh_postgres, settle
from tests.conftest import PASSWORD, TEST_ENV, settings_from
from workers.bot import kick_passage_embedder
from workers.search import kick_indexer

# audio and outdoor products: enough for "headphones" to have several answers, few enough to embed quickly
CATEGORIES = ("aud-", "out-")


async def _new_shop(env: dict[str, str]) -> Services:
    settings = settings_from(env)
    await upgrade(settings.db_url)
    services = build(settings, run_cron=False)
    leave_indexing_to_server(services.bots)  # like the demo seed: the catalog and the backlogs only
    await services.start()
    products = [p for p in json.loads((DATA / "products.json").read_text()) if p["id"].startswith(CATEGORIES)]
    async with services.sessionmaker() as session:
        await import_catalog(session, json.dumps(products).encode(), fmt="json", default_threshold=2)
    async with services.sessionmaker() as session:
        await knowledge.import_directory(session, settings.embedding_model, DATA / "help")
    await settle(services)
    return services


@pytest.fixture(params=["sqlite", "postgresql"])
async def shop(request, tmp_path) -> AsyncIterator[Services]:
    if request.param == "sqlite":
        env = {
            **TEST_ENV,
            "ENGAGE_DATA_DIR": str(tmp_path),
            "ENGAGE_DATABASE_URL": "",
            "ENGAGE_REDIS_URL": "",
        }
        services = await _new_shop(env)
        yield services
        await services.stop()
    else:
        async with fresh_postgres("warmup") as url:
            services = await _new_shop({**TEST_ENV, "ENGAGE_DATABASE_URL": url, "ENGAGE_REDIS_URL": ""})
            yield services
            await services.stop()


async def _embedded(services: Services) -> int:
    async with services.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(ProductEmbedding)) or 0)


async def test_search_answers_by_words_until_the_catalog_is_embedded(shop: Services) -> None:
    search = shop.bots.search
    assert await _embedded(shop) == 0
    async with shop.sessionmaker() as session:
        assert await backlog.size(session) > 0
        before = await search.search(session, "headphones")
    assert before.no_match  # nothing indexed at all yet (a moment: the indexer writes words first)

    # the indexer's first pass: words for the whole backlog, no model
    report = await document_backlog(shop.sessionmaker, search.lexicon)
    await settle(shop)
    assert report.documents_written > 0 and await _embedded(shop) == 0
    async with shop.sessionmaker() as session:
        assert await backlog.size(session) == report.documents_written  # the marks wait for the vectors
        words = await search.search(session, "headphones")
        typo = await search.search(session, "sleping bag")
        nothing = await search.search(session, "dog food")
    assert words.semantic == "warming_up" and not words.no_match
    handles = [h.card.handle for h in words.items]
    assert handles and all(h.startswith("aud-") for h in handles[:3]), handles
    assert typo.items and typo.items[0].card.handle == "out-003" and typo.corrected_query == "sleeping bag"
    assert nothing.no_match and nothing.items == []  # words alone keep an honest "no good match"

    # the indexer finishes: the same query is ranked by both legs
    shop.bots.drains.deferred = False
    await kick_indexer(shop.bots)
    await settle(shop)
    assert await _embedded(shop) == report.documents_written
    async with shop.sessionmaker() as session:
        hybrid = await search.search(session, "headphones")
        meaning = await search.search(session, "I need peace and quiet on a noisy flight")
    assert hybrid.semantic == "ready" and hybrid.items and hybrid.items[0].card.handle.startswith("aud-")
    assert meaning.semantic == "ready" and meaning.items[0].card.handle.startswith("aud-")


async def test_the_bot_answers_by_words_or_hands_over_until_passages_are_embedded(shop: Services) -> None:
    bot = shop.bots.bot
    async with shop.sessionmaker() as session:
        assert await knowledge.passages_waiting(session, bot.embedder.model_name)
        returns = await bot.decide(session, "How do I reset my password?", use_llm=False)
        unclear = await bot.decide(session, "what is the meaning of life", use_llm=False)
        person = await bot.decide(session, "I want to talk to a human", use_llm=False)
    assert not bot.semantic_ready()
    assert returns.kind == "article" and returns.by_words and returns.article_id == "account-and-password"
    # by words the bot cannot tell "out of scope" from "not found": it hands over instead of refusing
    assert unclear.kind == "fallback" and unclear.handoff and unclear.answer == WARMING_UP
    assert unclear.answer != OUT_OF_SCOPE
    assert person.intent == "human" and person.answer == HANDOFF  # intents never needed the model

    shop.bots.drains.deferred = False
    await kick_passage_embedder(shop.bots)
    await settle(shop)
    async with shop.sessionmaker() as session:
        assert not await knowledge.passages_waiting(session, bot.embedder.model_name)
        await bot.knowledge.catch_up(session)
        returns = await bot.decide(session, "How do I reset my password?", use_llm=False)
        unclear = await bot.decide(session, "what is the meaning of life", use_llm=False)
    assert bot.semantic_ready()
    assert returns.kind == "article" and not returns.by_words and returns.article_id == "account-and-password"
    assert unclear.answer == OUT_OF_SCOPE and not unclear.by_words


async def test_the_search_api_says_when_it_ranks_by_words(client) -> None:
    res = await client.get("/api/search", params={"q": "headphones"})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["semantic"] in ("ready", "warming_up") and body["degraded"] == (body["semantic"] != "ready")
    schema = (await client.get("/schema/openapi.json")).json()
    fields = schema["components"]["schemas"]["SearchResponse"]["properties"]
    assert set(fields["semantic"]["enum"]) == {"ready", "warming_up"}
    assert "lexical" in fields["semantic"]["description"] and "degraded" in fields


async def test_the_bot_answers_stock_from_the_shelf_and_a_yes_signs_the_shopper_up(shop: Services) -> None:
    await document_backlog(shop.sessionmaker, shop.bots.search.lexicon)  # words are enough to find products
    await settle(shop)
    bot = shop.bots.bot
    async with shop.sessionmaker() as session:
        speaker = await session.scalar(select(Product).where(Product.handle == "aud-007"))
        assert speaker is not None
        variants = {
            v.options["color"]: v.id
            for v in await session.scalars(select(Variant).where(Variant.product_id == speaker.id))
        }
        user = await create_user(
            session, email=f"keen-{uuid.uuid4().hex[:6]}@example.test", password=PASSWORD
        )

        async def ask(text: str) -> Decision:
            return await bot.decide(session, text, use_llm=False, by_words=True)

        stocked = await ask("Is the Drift bluetooth speaker in stock in Sunset Orange?")
        gone = await ask("can you tell me when the drift speaker in glacier blue is back")
        which = await ask("is the Drift portable speaker available?")
        help_page = await ask("How do back in stock alerts work?")
    assert (
        stocked.intent == "stock"
        and "Sunset Orange" in stocked.answer
        and "in stock (13 left)" in stocked.answer
    )
    assert f"/products/aud-007?variant={variants['Sunset Orange']}" in stocked.answer
    assert stocked.offered_variant_id is None
    assert (
        gone.intent == "stock"
        and "sold out" in gone.answer
        and gone.offered_variant_id == variants["Glacier Blue"]
    )
    assert (
        which.intent == "stock" and "sold out in Glacier Blue" in which.answer and "Charcoal" in which.answer
    )
    assert help_page.intent != "stock"  # no product named: the help centre answers it

    offer = BotAnswer(
        conversation_id=0, kind="intent", intent="stock", offered_variant_id=variants["Glacier Blue"]
    )
    async with shop.sessionmaker() as session:
        yes = await _decide(session, bot, "Yes, tell me when it's back", "", Shopper(user_id=user.id), offer)
        guest = await _decide(session, bot, "yes please", "", Shopper(), offer)
        no = await _decide(session, bot, "no thanks", "", Shopper(user_id=user.id), offer)
        alerts = (await session.scalars(select(StockAlert).where(StockAlert.user_id == user.id))).all()
    assert yes.answer.startswith("Done") and [a.variant_id for a in alerts] == [variants["Glacier Blue"]]
    assert alerts[0].email == user.email
    assert (
        f"/products/aud-007?variant={variants['Glacier Blue']}" in guest.answer
        and "Notify me" in guest.answer
    )
    assert no.answer == NOT_TOLD


async def test_the_bot_answers_product_questions_from_the_catalog_and_says_when_it_does_not_tell(
    shop: Services,
) -> None:
    shop.bots.drains.deferred = False
    await kick_indexer(shop.bots)
    await kick_passage_embedder(shop.bots)
    await settle(shop)
    bot = shop.bots.bot
    async with shop.sessionmaker() as session:
        await bot.knowledge.catch_up(session)

        async def ask(text: str) -> Decision:
            return await bot.decide(session, text, use_llm=False)

        weight = await ask("How heavy is the Ember 2 tent?")
        unknown = await ask("What colour is the stitching on the Ember 2 tent?")
        policy = await ask("How do I return an item I bought?")
    assert bot.semantic_ready()
    # the answer quotes the catalog's facts of the named product and links it
    assert weight.intent == "product" and "/products/out-002" in weight.answer, weight
    assert "1.6 kg" in weight.answer or "1600 g" in weight.answer, weight.answer
    # nothing near the question: it says so instead of guessing
    assert (
        unknown.intent == "product"
        and "doesn't say" in unknown.answer
        and "/products/out-002" in unknown.answer
    )
    assert policy.kind == "article"  # no product named: the help centre answers
