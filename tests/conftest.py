"""Test fixtures: a fresh PostgreSQL database and a Redis key prefix of this run's own; no mocks of either.

Environment:
  ENGAGE_TEST_PG_URL     admin URL of the PostgreSQL server (default postgresql+asyncpg://postgres@127.0.0.1:5432/postgres)
  ENGAGE_TEST_REDIS_URL  Redis URL (default redis://127.0.0.1:6379/0)
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from engage.app import create_app
from engage.auth import User, normalise_email
from engage.auth.passwords import hash_password
from engage.config import Settings, load_settings
from engage.platform.identity import Role
from engage.platform.migrations import upgrade
from engage.platform.runtime import Runtime
from engage.services import Services
from engage.wiring import build

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PG_ADMIN_URL = os.environ.get("ENGAGE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("ENGAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_ID = uuid.uuid4().hex[:10]
ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"

# Limits high enough that tests never trip them unless they mean to.
TEST_ENV = {
    "ENGAGE_ENV": "test",
    "ENGAGE_SECRET_KEY": "test-secret-" + "x" * 40,
    "ENGAGE_COOKIE_SECURE": "false",
    "ENGAGE_RATE_LIMIT_API": "100000/minute",
    # every test client signs in from 127.0.0.1: the per-address allowance is tested with its own app
    "ENGAGE_RATE_LIMIT_LOGIN_IP": "100000/900",
    # staff two-factor sign-in is tested on apps of its own (tests/engage/test_two_factor.py)
    "ENGAGE_TWO_FACTOR_ROLES": "",
    "ENGAGE_CHAT_RATE_LIMIT": "100000/10",
    "ENGAGE_LOG_JSON": "true",
    "ENGAGE_LOG_LEVEL": "WARNING",
    # several nodes and runtimes share one PostgreSQL (max_connections 100) during a run: 5 + 10 overflow each
    "ENGAGE_DB_POOL_SIZE": "15",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tiers (`make test-fast` leaves these out): a test that uses the browser is a browser test; the bots'
    tests load the embedding model."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
        if item.path.is_relative_to(ROOT / "tests" / "bots"):
            item.add_marker(pytest.mark.model)


def _with_db(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A database created for this run and dropped after it."""
    name = f"engage_test_{RUN_ID}"

    async def admin(sql: str) -> None:
        engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = _with_db(PG_ADMIN_URL, name)
    asyncio.run(upgrade(url))
    yield url
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def redis_prefix() -> Iterator[str]:
    prefix = f"engage-test-{RUN_ID}"
    yield prefix

    async def purge() -> None:
        redis = Redis.from_url(REDIS_URL)
        async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
            await redis.delete(key)
        await redis.aclose()

    asyncio.run(purge())


@pytest.fixture(scope="session")
def prod_env(pg_url: str, redis_prefix: str) -> dict[str, str]:
    """Environment of a production-mode process on this run's database and Redis prefix."""
    return {
        **TEST_ENV,
        "ENGAGE_DATABASE_URL": pg_url,
        "ENGAGE_REDIS_URL": REDIS_URL,
        "ENGAGE_REDIS_PREFIX": redis_prefix,
    }


def settings_from(env: dict[str, str], **overrides: Any) -> Settings:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return load_settings(**overrides)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="session")
def settings(prod_env: dict[str, str]) -> Settings:
    return settings_from(prod_env)


@pytest.fixture(scope="session")
def sqlite_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    data_dir = tmp_path_factory.mktemp("embedded")
    return {**TEST_ENV, "ENGAGE_DATA_DIR": str(data_dir), "ENGAGE_DATABASE_URL": "", "ENGAGE_REDIS_URL": ""}


@pytest.fixture(scope="session")
async def sqlite_settings(sqlite_env: dict[str, str]) -> Settings:
    settings = settings_from(sqlite_env)
    await upgrade(settings.db_url)
    return settings


@pytest.fixture(scope="session")
async def services(settings: Settings) -> AsyncIterator[Services]:
    """A production-mode process's services (PostgreSQL + Redis) for service-level tests."""
    built = build(settings, run_cron=False)
    await built.start()
    yield built
    await built.stop()


@pytest.fixture(scope="session")
def runtime(services: Services) -> Runtime:
    return services.runtime


@pytest.fixture(scope="session")
async def sqlite_services(sqlite_settings: Settings) -> AsyncIterator[Services]:
    """An embedded-mode process's services (SQLite, memory stores, in-process jobs)."""
    built = build(sqlite_settings, run_cron=False)
    await built.start()
    yield built
    await built.stop()


@pytest.fixture(scope="session")
def sqlite_runtime(sqlite_services: Services) -> Runtime:
    return sqlite_services.runtime


@pytest.fixture
async def db(runtime: Runtime) -> AsyncIterator[Any]:
    async with runtime.sessionmaker() as session:
        yield session


class AppClient(httpx.AsyncClient):
    """An httpx client talking to the ASGI app in this event loop (no sockets)."""

    def __init__(self, app: Litestar, *, keep_cookies: bool) -> None:
        super().__init__(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")
        self.app = app
        if not keep_cookies:

            async def forget_cookies(_: httpx.Response) -> None:
                self.cookies.clear()

            self.event_hooks["response"].append(forget_cookies)


@pytest.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[AppClient]:
    """The whole app in-process on PostgreSQL + Redis, lifespan included.

    It behaves as an API client and keeps no cookies (`browser_client` keeps them, as a browser does).
    """
    app = create_app(settings)
    async with running(app), AppClient(app, keep_cookies=False) as c:
        yield c


@pytest.fixture(scope="session")
async def sqlite_client(sqlite_settings: Settings) -> AsyncIterator[AppClient]:
    """The whole app in embedded mode (SQLite, memory stores, in-process jobs), lifespan included."""
    app = create_app(sqlite_settings)
    async with running(app), AppClient(app, keep_cookies=False) as c:
        yield c


@asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[Litestar]:
    """Run the app's lifespan in a task of its own (fixture setup and teardown run in different tasks)."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def lifespan() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(lifespan())
    await asyncio.wait([task, asyncio.create_task(started.wait())], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()
    try:
        yield app
    finally:
        stop.set()
        await task


@pytest.fixture
async def browser_client(client: AppClient) -> AsyncIterator[AppClient]:
    async with AppClient(client.app, keep_cookies=True) as browser:
        yield browser


def unique_email(tag: str = "user") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.test"


@dataclass
class Account:
    id: int
    email: str
    role: Role
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


_PASSWORD_HASH: dict[str, str] = {}


async def password_hash() -> str:
    """PASSWORD hashed once per process: accounts made for a test share it (hashing is slow on purpose and
    is tested where it is under test: tests/engage/test_passwords.py, test_signup.py)."""
    if "hash" not in _PASSWORD_HASH:
        _PASSWORD_HASH["hash"] = await hash_password(PASSWORD)
    return _PASSWORD_HASH["hash"]


async def account_on(client: AppClient, role: Role = Role.customer, email: str | None = None) -> Account:
    """Create an account of a role in the app's database and make it an API token over HTTP."""
    email = normalise_email(email or unique_email(role.value))
    async with client.app.state.services.runtime.sessionmaker() as session:
        user = User(email=email, password_hash=await password_hash(), role=role.value)
        session.add(user)
        await session.commit()
    return Account(id=user.id, email=email, role=role, token=await api_token(client, email))


async def api_token(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, name: str = "tests"
) -> str:
    """A bearer token for an API client (`POST /api/auth/tokens`: browsers sign in with the cookie only)."""
    res = await client.post("/api/auth/tokens", json={"email": email, "password": password, "name": name})
    assert res.status_code == 201, res.text
    return str(res.json()["token"])


@pytest.fixture(scope="session")
def make_account(client: AppClient) -> Any:
    """Create an account of a role with an API token made over HTTP (PostgreSQL)."""

    async def make(role: Role = Role.customer, email: str | None = None) -> Account:
        return await account_on(client, role, email)

    return make


@pytest.fixture(scope="session")
def sqlite_make_account(sqlite_client: AppClient) -> Any:
    """`make_account` on the embedded app (`sqlite_client`)."""

    async def make(role: Role = Role.customer, email: str | None = None) -> Account:
        return await account_on(sqlite_client, role, email)

    return make


@dataclass
class SignUpMailSent:
    to: str
    kind: str  # "confirm" (a new address: `token` is its link's) or "taken"
    token: str
    site: str


@pytest.fixture
def sign_up_mails(client: AppClient, monkeypatch: pytest.MonkeyPatch) -> list[SignUpMailSent]:
    """The sign-up mails the `client` app queues (their job runs in a worker, which tests do not start)."""
    sent: list[SignUpMailSent] = []
    jobs = client.app.state.services.runtime.jobs
    enqueue = jobs.enqueue

    async def recording(task: str, *args: Any, **kwargs: Any) -> None:
        if task == "send_sign_up_mail":
            sent.append(SignUpMailSent(*args))
            return
        await enqueue(task, *args, **kwargs)

    monkeypatch.setattr(jobs, "enqueue", recording)
    return sent


@pytest.fixture
def sign_up(sign_up_mails: list[SignUpMailSent]) -> Any:
    """Sign up over HTTP and follow the mailed link: the confirmed account's answer (`{"user": ...}`)."""

    async def run(
        http: httpx.AsyncClient, email: str, password: str = PASSWORD, name: str = "", **headers: str
    ) -> dict[str, Any]:
        res = await http.post(
            "/api/auth/signup", json={"email": email, "password": password, "name": name}, headers=headers
        )
        assert res.status_code == 202, res.text
        mail = next(m for m in reversed(sign_up_mails) if m.to == email.lower())
        assert mail.kind == "confirm", mail
        res = await http.post(
            "/api/auth/signup/confirm", json={"token": mail.token, "password": password}, headers=headers
        )
        assert res.status_code == 201, res.text
        return dict(res.json())

    return run


# ---- real server processes -------------------------------------------------------------------------------


@dataclass
class CallCount:
    calls: int = 0


def count_calls(owners: Iterable[Any], name: str) -> CallCount:
    """Counts the awaited calls of each owner's `name` (a Redis script, say: its round trips), passing them on."""
    count = CallCount()
    for owner in owners:
        original = getattr(owner, name)

        async def counted(*args: Any, original: Any = original, **kwargs: Any) -> Any:
            count.calls += 1
            return await original(*args, **kwargs)

        setattr(owner, name, counted)
    return count


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(
    env: dict[str, str], log_dir: Path, *args: str, ready_path: str = "/ready", timeout: float = 60
) -> Server:
    """`engage serve` as a subprocess on a free port; waits until `ready_path` answers 200."""
    port = free_port()
    log = log_dir / f"serve-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "engage.cli", "serve", "--port", str(port), *args],
        env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    server = Server(url=f"http://127.0.0.1:{port}", process=process, log=log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"engage serve exited early:\n{server.logs()}")
        try:
            if httpx.get(server.url + ready_path, timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"engage serve did not become ready:\n{server.logs()}")


CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Debian's Chromium under Playwright (never a downloaded browser); skipped where it is not installed,
    unless ENGAGE_REQUIRE_BROWSER=1 (CI) makes that a failure."""
    if not HAVE_CHROMIUM:
        if os.environ.get("ENGAGE_REQUIRE_BROWSER") == "1":
            pytest.fail("ENGAGE_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing")
        pytest.skip("/usr/bin/chromium is not installed")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        chromium = await p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield chromium
        finally:
            await chromium.close()
