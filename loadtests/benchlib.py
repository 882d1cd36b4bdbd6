"""What the load tests share: free ports, child processes, their CPU time, scratch databases and Redis keys.

Everything here targets 127.0.0.1 and cleans up after itself; the scripts import it as `loadtests.benchlib`
(each puts the repository root on sys.path first).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_ADMIN = os.environ.get("ENGAGE_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("ENGAGE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(command: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A child process in the repository root, `env` added to ours, output to `log`."""
    return subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


def stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _descendants(pid: int) -> list[int]:
    found = [pid]
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            listed = children.read_text().split()
        except FileNotFoundError:  # the thread or process ended meanwhile
            continue
        for child in listed:
            found += _descendants(int(child))
    return found


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process and its live children (`engage serve --workers N`)."""
    tick = os.sysconf("SC_CLK_TCK")
    user = system = 0.0
    for each in _descendants(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        user, system = user + int(fields[11]) / tick, system + int(fields[12]) / tick
    return user, system


def wait_ready(url: str, timeout: float = 120, process: subprocess.Popen[bytes] | None = None) -> None:
    """Until `url` answers 200 (or `process` exits, or `timeout` passes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}) before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as res:
                if res.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 in {timeout} s")


def wait_quiet(pids: list[int], limit: float = 60) -> None:
    """Until the servers stop using CPU (start-up work in threads: the embedding model loading and the bot's
    examples embedded after `/ready` answers), at most `limit` s: their CPU is not the measured work's."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = sum(sum(cpu_seconds(pid)) for pid in pids)
        time.sleep(1.0)
        if sum(sum(cpu_seconds(pid)) for pid in pids) - before < 0.05 * len(pids):
            return


def wait_port(port: int, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    """Until something listens on 127.0.0.1:`port` (a server without a ready URL), or `process` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}) before it listened on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listened on {port} in {timeout} s")


def _bench_vapid_key() -> str:
    """Production requires a VAPID key: a fresh one per benchmark run (nothing is pushed to browsers)."""
    from engage.push.vapid import generate_keys, keys_to_text

    return keys_to_text(generate_keys())


def production_env(database_url: str, redis_prefix: str, **settings: str) -> dict[str, str]:
    """Environment of an `engage serve` node in production mode on a scratch database and Redis prefix;
    `settings` add or override ENGAGE_* values (rate limits, pool sizes)."""
    return {
        "ENGAGE_ENV": "production",
        "ENGAGE_SECRET_KEY": "bench-" + "x" * 40,
        "ENGAGE_VAPID_PRIVATE_KEY": _bench_vapid_key(),
        "ENGAGE_DATABASE_URL": database_url,
        "ENGAGE_REDIS_URL": REDIS,
        "ENGAGE_REDIS_PREFIX": redis_prefix,
        "ENGAGE_PAYMENT_PROVIDER": "stripe",  # production refuses the test provider; no payment is made
        "ENGAGE_STRIPE_API_KEY": "sk_test_unused",
        "ENGAGE_LOG_LEVEL": "WARNING",
        "ENGAGE_COOKIE_SECURE": "false",
        "HF_HUB_OFFLINE": "1",
        **settings,
    }


def database_url(name: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


async def create_database(name: str) -> str:
    """An empty scratch database, brought to the schema's head; returns its URL."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    sys.path.insert(0, str(ROOT))
    from engage.platform.migrations import upgrade

    admin = create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    url = database_url(name)
    await upgrade(url)
    return url


async def drop_database(name: str, redis_prefix: str | None = None) -> None:
    """Drop the scratch database (connections closed by force) and every Redis key under the prefix."""
    from redis.asyncio import Redis
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    admin = create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()
    if redis_prefix:
        redis = Redis.from_url(REDIS)
        async for key in redis.scan_iter(match=f"{redis_prefix}*", count=1000):
            await redis.delete(key)
        await redis.aclose()


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
