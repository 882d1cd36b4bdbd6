"""`engage worker` against a Redis that restarts empty (no persistence): it reconnects and goes on taking
jobs, and it stops when told to. Its own Redis server, so the run's other tests keep theirs."""

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

import pytest
from arq import create_pool
from redis.asyncio import Redis
from sqlalchemy import select

from engage.platform.clock import utcnow
from engage.platform.db import make_engine, make_sessionmaker
from engage.platform.idempotency import IdempotentRequest
from engage.platform.redis import arq_redis_settings
from engage.platform.runtime import queue_name
from tests.conftest import ROOT, settings_from

pytestmark = pytest.mark.nodes


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        self.port = _free_port()
        self.workdir = workdir
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
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
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


def _start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "engage.cli", "worker"],
        env={**os.environ, **env, "HF_HUB_OFFLINE": "1"},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_the_worker_rides_over_a_redis_restart_and_takes_jobs_again(
    worker_env: dict[str, str], private_redis: RedisServer
) -> None:
    worker = _start_worker(worker_env)
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
            assert worker.poll() is None, "the worker died with Redis"
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            raise
    assert worker.returncode is not None
