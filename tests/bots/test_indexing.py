"""The indexing backlog: durable marks, one drainer across processes, bursts coalesced, nothing stranded."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from arq.connections import create_pool
from arq.worker import Worker
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bots import draining
from bots.cli import catch_up
from bots.search import backlog
from bots.search.backlog import INDEX_TASK
from bots.search.models import IndexBacklog, ProductEmbedding, SearchDocument
from bots.wiring import leave_indexing_to_server
from commerce.catalog import import_catalog
from commerce.catalog.drafts import ProductDraft, VariantDraft
from commerce.catalog.editing import save
from engage.demo import DATA
from engage.platform.clock import utcnow
from engage.platform.db import make_engine, make_sessionmaker
from engage.platform.migrations import upgrade
from engage.platform.redis import arq_redis_settings
from engage.services import Services
from engage.wiring import build
from tests.bots.conftest import fresh_postgres, settle
from tests.conftest import REDIS_URL, TEST_ENV, settings_from
from workers.settings import worker_settings


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def sessionmaker(request, tmp_path_factory) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A database of this module's own on each backend (the backlog is global state)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('indexing') / 'engage.db'}"
        await upgrade(url)
        engine = make_engine(url)
        yield make_sessionmaker(engine)
        await engine.dispose()
        return
    async with fresh_postgres("indexing") as url:
        await upgrade(url)
        engine = make_engine(url)
        yield make_sessionmaker(engine)
        await engine.dispose()


async def _take(sessionmaker: async_sessionmaker[AsyncSession], name: str, holder: str) -> bool:
    async with sessionmaker() as session:
        taken = await draining.take(session, name, holder)
        await session.commit()
    return taken


async def test_one_holder_at_a_time_until_its_lease_runs_out(sessionmaker) -> None:
    name = f"test-{uuid.uuid4().hex[:8]}"
    racers = [draining.new_holder() for _ in range(8)]
    won = await asyncio.gather(*(_take(sessionmaker, name, h) for h in racers))
    assert sum(won) == 1
    first = racers[won.index(True)]
    other = draining.new_holder()
    async with sessionmaker() as session:
        assert await draining.renew(session, name, first)
        assert not await draining.renew(session, name, other)
        await session.commit()
    assert not await _take(sessionmaker, name, other)

    async with sessionmaker() as session:  # the first holder stopped (crashed) and its time ran out
        await session.execute(
            update(draining.DrainLease)
            .where(draining.DrainLease.name == name)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    assert await _take(sessionmaker, name, other)
    async with sessionmaker() as session:
        assert not await draining.renew(session, name, first)  # the old holder sees it lost the lease
        await draining.release(session, name, first)  # and cannot release someone else's
        await session.commit()
    assert not await _take(sessionmaker, name, draining.new_holder())


async def test_a_product_marked_again_while_indexed_keeps_its_newer_mark(sessionmaker) -> None:
    ids = [10_001, 10_002, 10_003]
    async with sessionmaker() as session:
        await backlog.mark(session, ids)
        await session.commit()
        taken = await backlog.take(session, 10)
        assert [pid for pid, _ in taken] == ids
        await backlog.mark(session, [10_002])  # changed again while the indexer worked on it
        await session.commit()
        await backlog.settle(session, taken)
        await session.commit()
        left = (await session.execute(select(IndexBacklog.product_id, IndexBacklog.generation))).all()
        assert [tuple(row) for row in left] == [(10_002, 2)]
        await backlog.settle(session, await backlog.take(session, 10))
        await session.commit()
        assert not await backlog.waiting(session)


class Queue:
    """Stands in for the job queue in the protocol tests: remembers which drainers were started."""

    def __init__(self) -> None:
        self.holders: list[str] = []

    async def enqueue(self, holder: str) -> None:
        self.holders.append(holder)


def _drainer(sessionmaker: async_sessionmaker[AsyncSession], done: list[int]) -> Any:
    async def step() -> bool:
        async with sessionmaker() as session:
            taken = await backlog.take(session, 2)
            done.extend(pid for pid, _ in taken)
            await backlog.settle(session, taken)
            await session.commit()
        return bool(taken)

    return step


async def _arrive(sessionmaker: async_sessionmaker[AsyncSession], product_id: int, queue: Queue) -> bool:
    """What the search sink does for a change: mark, then kick."""
    async with sessionmaker() as session:
        await backlog.mark(session, [product_id])
        await session.commit()
    return await draining.kick(sessionmaker, backlog.LEASE, queue.enqueue)


async def test_work_arriving_as_the_drainer_finishes_is_never_stranded(sessionmaker) -> None:
    queue, done = Queue(), []
    step = _drainer(sessionmaker, done)
    for pid in (20_001, 20_002, 20_003):
        await _arrive(sessionmaker, pid, queue)
    assert len(queue.holders) == 1, "a burst of changes starts one drainer"

    # 1) a change lands after the drainer found the backlog empty, before it let go of the lease: its kick
    #    finds the lease taken, and the drainer, looking again after letting go, takes it back
    kicked_late: list[bool] = []

    async def step_with_a_late_change() -> bool:
        did = await step()
        if not did and not kicked_late:
            kicked_late.append(await _arrive(sessionmaker, 20_004, queue))
        return did

    await draining.drain(
        sessionmaker, backlog.LEASE, queue.holders[0], step_with_a_late_change, backlog.waiting
    )
    assert kicked_late == [False] and len(queue.holders) == 1
    assert done == [20_001, 20_002, 20_003, 20_004]

    # 2) a change lands after the drainer let go: its kick starts a new drainer, the old one steps aside
    await _arrive(sessionmaker, 20_005, queue)
    second = queue.holders[-1]
    kicked_after_release: list[bool] = []

    async def waiting_with_a_change(session: AsyncSession) -> bool:
        if not kicked_after_release:
            kicked_after_release.append(await _arrive(sessionmaker, 20_006, queue))
        return await backlog.waiting(session)

    await draining.drain(sessionmaker, backlog.LEASE, second, step, waiting_with_a_change)
    assert kicked_after_release == [True] and len(queue.holders) == 3
    assert 20_006 not in done
    await draining.drain(sessionmaker, backlog.LEASE, queue.holders[-1], step, backlog.waiting)
    assert done[-2:] == [20_005, 20_006]
    async with sessionmaker() as session:
        assert not await backlog.waiting(session)
        assert await session.get(draining.DrainLease, backlog.LEASE) is None, "the last drainer let go"


async def test_changes_racing_the_drainer_all_end_up_handled(sessionmaker) -> None:
    """Marks from many concurrent writers while drainers come and go: every one is handled, once done."""
    queue, done = Queue(), []
    step = _drainer(sessionmaker, done)
    ids = list(range(30_001, 30_041))

    async def writer(chunk: list[int]) -> None:
        for pid in chunk:
            await _arrive(sessionmaker, pid, queue)
            await asyncio.sleep(0)

    async def drainers() -> None:
        started = 0
        while started < len(queue.holders) or any(pid not in done for pid in ids):
            if started < len(queue.holders):
                await draining.drain(
                    sessionmaker, backlog.LEASE, queue.holders[started], step, backlog.waiting
                )
                started += 1
            else:
                await asyncio.sleep(0.01)

    await asyncio.wait_for(
        asyncio.gather(*(writer(ids[i::4]) for i in range(4)), drainers()),
        timeout=60,
    )
    assert sorted(set(done)) == ids
    async with sessionmaker() as session:
        assert not await backlog.waiting(session)


def _draft(name: str, sku: str, price: int) -> ProductDraft:
    return ProductDraft(
        name=name,
        brand="Testbrand",
        description=f"{name}, a product that exists for an indexing test.",
        category="Test Things",
        variants=[VariantDraft(sku=sku, price_cents=price, stock=3)],
    )


async def test_a_burst_of_edits_is_one_job_and_the_worker_indexes_every_product(prod_env) -> None:
    """Production mode on a database and queue of its own: 24 products saved in 24 transactions."""
    async with fresh_postgres("burst") as url:
        env = {**prod_env, "ENGAGE_DATABASE_URL": url, "ENGAGE_REDIS_PREFIX": f"burst-{uuid.uuid4().hex[:8]}"}
        settings = settings_from(env)
        await upgrade(url)
        services = build(settings, run_cron=False)
        await services.start()
        arq = await create_pool(arq_redis_settings(REDIS_URL))
        try:
            tag = uuid.uuid4().hex[:6]
            handles = [f"burst-{tag}-{i}" for i in range(24)]

            async def save_one(i: int) -> None:
                async with services.sessionmaker() as session:
                    await save(
                        session,
                        handles[i],
                        _draft(f"Burst lamp {i}", f"BURST-{tag}-{i}", 1000 + i),
                        default_threshold=1,
                        reference="test",
                    )
                    await session.commit()

            for i in range(24):
                await save_one(i)
            await settle(services)  # nothing runs here: the jobs wait on arq's queue in Redis
            jobs = await arq.queued_jobs(queue_name=services.runtime.queue_name)
            assert [j.function for j in jobs] == [INDEX_TASK]
            async with services.sessionmaker() as session:
                assert await backlog.size(session) == 24

            worker = Worker(**worker_settings(settings), burst=True, poll_delay=0.05)
            try:
                await worker.main()
            finally:
                await worker.close()
            async with services.sessionmaker() as session:
                assert await backlog.size(session) == 0
                indexed = await session.scalar(select(func.count()).select_from(ProductEmbedding))
                documents = await session.scalar(select(func.count()).select_from(SearchDocument))
            assert indexed == documents == 24
        finally:
            await arq.aclose()
            await services.stop()


async def test_a_deferred_import_waits_in_the_backlog_until_caught_up(tmp_path) -> None:
    """Embedded `engage catalog import` leaves embedding to the server; `engage reindex` does it at once."""
    settings = settings_from(
        {**TEST_ENV, "ENGAGE_DATA_DIR": str(tmp_path), "ENGAGE_DATABASE_URL": "", "ENGAGE_REDIS_URL": ""}
    )
    await upgrade(settings.db_url)
    command = build(settings, run_cron=False)
    leave_indexing_to_server(command.bots)
    await command.start()
    try:
        few = json.loads((DATA / "products.json").read_text())[:12]
        async with command.sessionmaker() as session:
            report = await import_catalog(session, json.dumps(few).encode(), fmt="json", default_threshold=2)
            assert len(report.created) == 12
        await settle(command)
        async with command.sessionmaker() as session:
            assert await backlog.size(session) == 12
            assert await session.scalar(select(func.count()).select_from(ProductEmbedding)) == 0
    finally:
        await command.stop()

    server = build(settings, run_cron=False)
    await server.start()
    try:
        report, _, _ = await catch_up(server, show=False)
        assert report.embedded == 12 and report.documents_written == 12
        await settle(server)
        search = server.bots.search
        async with server.sessionmaker() as session:
            assert await backlog.size(session) == 0
            found = await search.search(session, few[0]["name"], limit=3)
        assert found.items[0].card.handle == few[0]["id"]
    finally:
        await server.stop()


async def test_every_web_process_sees_what_the_worker_indexed(prod_env) -> None:
    """Two web processes and a worker on one database and Redis: an edit made through one process is
    indexed by the worker and found by the other process's in-memory index."""
    from engage.app import create_app
    from tests.conftest import running

    async with fresh_postgres("nodes") as url:
        env = {**prod_env, "ENGAGE_DATABASE_URL": url, "ENGAGE_REDIS_PREFIX": f"nodes-{uuid.uuid4().hex[:8]}"}
        settings = settings_from(env)
        await upgrade(url)
        node_a, node_b = create_app(settings), create_app(settings)
        async with running(node_a), running(node_b):
            a: Services = node_a.state.services
            b: Services = node_b.state.services
            async with a.sessionmaker() as session:
                await save(
                    session,
                    "lamp-1",
                    _draft("Reading lamp", "LAMP-1", 3000),
                    default_threshold=1,
                    reference="t",
                )
                await session.commit()

            async def work() -> None:
                await settle(a)
                worker = Worker(**worker_settings(settings), burst=True, poll_delay=0.05)
                try:
                    await worker.main()
                finally:
                    await worker.close()

            await work()
            search_b = b.bots.search
            async with b.sessionmaker() as session:
                await search_b.index.ensure_loaded(session)  # B loads what is indexed so far
                await session.commit()
            async with a.sessionmaker() as session:
                await save(
                    session,
                    "lamp-1",
                    ProductDraft(
                        name="Reading lamp",
                        description="A reading lamp with a built-in zanzibar pelican night light.",
                        category="Test Things",
                        variants=[VariantDraft(sku="LAMP-1", price_cents=3000)],
                    ),
                    default_threshold=1,
                    reference="t",
                )
                await session.commit()
            await work()
            for _ in range(100):  # the note travels over Redis to B's follower
                async with b.sessionmaker() as session:
                    found = await search_b.search(session, "zanzibar pelican light", limit=3)
                if found.items:
                    break
                await asyncio.sleep(0.05)
            assert [h.card.handle for h in found.items][:1] == ["lamp-1"]


async def test_the_embedded_server_catches_up_with_a_reindex_run_from_the_command_line(tmp_path) -> None:
    """Embedded mode has no messages between processes: the server asks the database every 30 s."""
    from workers.search import catch_up_in_memory

    settings = settings_from(
        {**TEST_ENV, "ENGAGE_DATA_DIR": str(tmp_path), "ENGAGE_DATABASE_URL": "", "ENGAGE_REDIS_URL": ""}
    )
    await upgrade(settings.db_url)
    server = build(settings, run_cron=False)
    await server.start()
    try:
        async with server.sessionmaker() as session:
            await save(
                session,
                "kettle-1",
                _draft("Gooseneck kettle", "KETTLE-1", 5900),
                default_threshold=1,
                reference="t",
            )
            await session.commit()
        await settle(server)
        search = server.bots.search
        async with server.sessionmaker() as session:
            assert [h.card.handle for h in (await search.search(session, "gooseneck kettle")).items] == [
                "kettle-1"
            ]

        command = build(settings, run_cron=False)  # `engage catalog import` + `engage reindex`
        leave_indexing_to_server(command.bots)
        await command.start()
        try:
            async with command.sessionmaker() as session:
                await save(
                    session,
                    "grinder-1",
                    _draft("Burr coffee grinder", "GRINDER-1", 8900),
                    default_threshold=1,
                    reference="t",
                )
                await session.commit()
            await settle(command)
            await catch_up(command, show=False)
        finally:
            await command.stop()

        async with server.sessionmaker() as session:
            assert not (await search.search(session, "burr coffee grinder")).items  # not told yet
        await catch_up_in_memory({"services": server})
        async with server.sessionmaker() as session:
            found = await search.search(session, "burr coffee grinder")
        assert [h.card.handle for h in found.items][:1] == ["grinder-1"]
    finally:
        await server.stop()
