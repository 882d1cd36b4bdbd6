"""Redis restarting under the product, on a Redis server of the test's own (the run's other tests keep
theirs): `engage worker` reconnects and goes on taking jobs, even from a Redis that came back empty; with
Redis keeping its data as docs/deployment.md asks, shoppers stay signed in and nothing of carts, chats or a
flash sale is lost while a node and a worker serve traffic."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from arq import create_pool
from redis.asyncio import Redis
from sqlalchemy import select

from engage.auth import create_user
from engage.auth.tokens import create_api_token
from engage.platform.clock import utcnow
from engage.platform.db import make_engine, make_sessionmaker
from engage.platform.idempotency import IdempotentRequest
from engage.platform.redis import arq_redis_settings
from engage.platform.runtime import Runtime, queue_name
from tests.commerce.conftest import make_product
from tests.conftest import PASSWORD, ROOT, settings_from, start_server, unique_email
from tests.flash_sales.conftest import make_sale

pytestmark = pytest.mark.nodes


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self, workdir: Path, *, appendonly: bool = False) -> None:
        self.port = _free_port()
        self.workdir = workdir
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes" if self.appendonly else "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # as an operator's restart: with AOF, what was written is on disk
            self.process.wait(10)
            self.process = None

    async def ready(self) -> None:
        for _ in range(100):
            try:
                redis = Redis.from_url(self.url)
                await redis.ping()
                await redis.aclose()
                return
            except OSError:
                await asyncio.sleep(0.05)
            except Exception:  # redis' ConnectionError
                await asyncio.sleep(0.05)
        raise AssertionError("redis-server did not start")


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def worker_env(prod_env: dict[str, str], private_redis: RedisServer) -> AsyncIterator[dict[str, str]]:
    await private_redis.ready()
    yield {**prod_env, "ENGAGE_REDIS_URL": private_redis.url}


async def _old_answer(env: dict[str, str]) -> str:
    engine = make_engine(env["ENGAGE_DATABASE_URL"], pool_size=1)
    scope = f"worker-test|{os.urandom(6).hex()}"
    async with make_sessionmaker(engine)() as s:
        s.add(
            IdempotentRequest(
                scope=scope,
                key="k",
                fingerprint="x",
                status_code=200,
                created_at=utcnow() - timedelta(days=3),
            )
        )
        await s.commit()
    await engine.dispose()
    return scope


async def _gone(env: dict[str, str], scope: str, seconds: float = 60.0) -> bool:
    engine = make_engine(env["ENGAGE_DATABASE_URL"], pool_size=1)
    try:
        for _ in range(int(seconds * 4)):
            async with make_sessionmaker(engine)() as s:
                if (
                    await s.scalar(select(IdempotentRequest.key).where(IdempotentRequest.scope == scope))
                    is None
                ):
                    return True
            await asyncio.sleep(0.25)
        return False
    finally:
        await engine.dispose()


async def _enqueue(env: dict[str, str]) -> None:
    pool = await create_pool(arq_redis_settings(env["ENGAGE_REDIS_URL"]))
    await pool.enqueue_job("forget_old_idempotency_keys", _queue_name=queue_name(settings_from(env)))
    await pool.aclose()


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "engage.cli", "worker"],
            env={**os.environ, **env, "HF_HUB_OFFLINE": "1"},
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _assert_alive(worker: subprocess.Popen[bytes], log: Path) -> None:
    assert worker.poll() is None, "the worker died with Redis:\n" + log.read_text(errors="replace")[-4000:]


async def test_the_worker_rides_over_a_redis_restart_and_takes_jobs_again(
    worker_env: dict[str, str], private_redis: RedisServer, tmp_path: Path
) -> None:
    worker = _start_worker(worker_env, tmp_path / "worker.log")
    try:
        scope = await _old_answer(worker_env)
        await _enqueue(worker_env)
        assert await _gone(worker_env, scope), "the worker never took a job"

        for outage in (0.5, 4.0):  # a blip, and an outage that outlasts a command's first retries
            private_redis.stop()
            await asyncio.sleep(outage)
            private_redis.start()
            await private_redis.ready()
            scope = await _old_answer(worker_env)
            await _enqueue(worker_env)  # the restarted Redis is empty: a job queued after it came back
            assert await _gone(worker_env, scope), "the worker took no job after Redis restarted"
            _assert_alive(worker, tmp_path / "worker.log")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            raise
    assert worker.returncode is not None


async def test_shoppers_carts_chats_and_a_flash_sale_ride_over_a_redis_restart(
    prod_env: dict[str, str], tmp_path: Path, runtime: Runtime
) -> None:
    """As docs/deployment.md asks, Redis keeps its data (appendonly): restarted under traffic, shoppers stay
    signed in, carts and chats lose nothing, the flash sale sells exactly its units, the worker goes on."""
    redis = RedisServer(tmp_path, appendonly=True)
    redis.start()
    await redis.ready()
    env = {**prod_env, "ENGAGE_REDIS_URL": redis.url, "ENGAGE_REDIS_PREFIX": f"restart-{os.urandom(4).hex()}"}
    node = await asyncio.to_thread(start_server, env, tmp_path)
    worker = _start_worker(env, tmp_path / "worker.log")
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=[40], price=2000)
    variant = product.variants[0].id
    sale_id = await make_sale(runtime, [variant], units=20, limit=1)
    shopper = await _person(runtime)
    claimers = [await _person(runtime) for _ in range(30)]
    try:
        async with httpx.AsyncClient(base_url=node.url, timeout=30) as browser:
            await browser.get("/api/auth/me")
            csrf = {"x-csrftoken": browser.cookies.get("engage_csrf") or ""}
            login = await browser.post(
                "/api/auth/login", json={"email": shopper[1], "password": PASSWORD}, headers=csrf
            )
            assert login.status_code == 200
            csrf = {"x-csrftoken": browser.cookies.get("engage_csrf") or ""}
            assert (
                await browser.post("/api/cart/lines", json={"variant_id": variant}, headers=csrf)
            ).status_code == 200
            started = await browser.post("/api/chat/conversations", json={"text": "message 0"}, headers=csrf)
            cid = started.json()["conversation"]["id"]

            async def say(n: int) -> None:
                res = await browser.post(
                    f"/api/chat/conversations/{cid}/messages", json={"text": f"message {n}"}, headers=csrf
                )
                assert res.status_code == 201, res.text

            async def claim(token: str) -> int:
                async with httpx.AsyncClient(base_url=node.url, timeout=30) as api:
                    for _ in range(50):  # a 503 while Redis is away is an answer to retry
                        res = await api.post(
                            f"/api/flash-sales/{sale_id}/claims",
                            json={"variant_id": variant},
                            headers={"Authorization": f"Bearer {token}"},
                        )
                        if res.status_code != 503:
                            return res.status_code
                        await asyncio.sleep(0.2)
                    return 503

            for n in range(1, 5):
                await say(n)
            before = await asyncio.gather(*(claim(token) for _, _, token in claimers[:10]))

            redis.stop()
            await asyncio.sleep(1.0)
            redis.start()
            await redis.ready()
            for _ in range(100):
                if (await browser.get("/ready")).status_code == 200:
                    break
                await asyncio.sleep(0.2)

            me = (await browser.get("/api/auth/me")).json()
            assert me["authenticated"] and me["user_id"] == shopper[0], "the shopper is still signed in"
            for n in range(5, 10):
                await say(n)
            after = await asyncio.gather(*(claim(token) for _, _, token in claimers[10:]))
            cart = (await browser.get("/api/cart")).json()
            assert [(line["variant_id"], line["quantity"]) for line in cart["lines"]] == [(variant, 1)]
            messages = (await browser.get(f"/api/chat/conversations/{cid}/messages")).json()
            texts = [m["text"] for m in messages["items"] if m["author"] == "shopper"]
            assert texts == [f"message {n}" for n in range(10)], "nothing lost, nothing reordered"

        outcome = sorted(before + after)
        assert outcome.count(201) == 20 and set(outcome) <= {201, 409}, outcome
        _assert_alive(worker, tmp_path / "worker.log")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
        node.stop()
        redis.stop()


async def _person(runtime: Runtime) -> tuple[int, str, str]:
    """A shopper's id, email and API token."""
    email = unique_email("restart")
    async with runtime.sessionmaker() as s:
        user = await create_user(s, email=email, password=PASSWORD)
        _, token = await create_api_token(s, user.id, "restart-test")
    return user.id, email, token
