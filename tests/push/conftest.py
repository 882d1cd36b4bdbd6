"""Push fixtures: the loopback push service, an app and services of either mode that may POST to it, and
shoppers with devices. No mocks: PostgreSQL + Redis (or SQLite), real HTTP to a push service that checks
VAPID and decrypts every message.

Isolation: every test gets fresh VAPID keys (`keys` swaps `services.push`); subscriptions are made with the
current key and only those are sent to, so a test's campaign to "everyone opted in" reaches the devices of
that test alone, as after a key rotation.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from arq.worker import Worker

from engage.auth.models import User
from engage.auth.passwords import hash_password
from engage.config import Settings
from engage.platform.identity import Role
from engage.platform.migrations import upgrade
from engage.platform.redis import arq_redis_settings
from engage.push import preferences, subscriptions
from engage.push.delivery import DEFAULT_ALLOWED_ENDPOINTS
from engage.push.env import PushEnv, build_push_env
from engage.push.subscriptions import Owner, SubscriptionIn
from engage.push.vapid import generate_keys
from engage.services import Services
from engage.wiring import build
from tests.conftest import PASSWORD, TEST_ENV, AppClient, api_token, running, settings_from
from tests.push.push_service import PushService
from workers import registry

_HASH: dict[str, str] = {}


@pytest.fixture(scope="session")
async def push_service() -> AsyncIterator[PushService]:
    async with PushService() as service:
        yield service


def _overrides(service: PushService, data_dir: Any) -> dict[str, Any]:
    return {
        "push_allowed_endpoints": [*DEFAULT_ALLOWED_ENDPOINTS, service.allowed_prefix],
        "data_dir": data_dir,
        "push_lease_seconds": 5,
        "push_chat_delay_seconds": 0,
        "alerts_wave_seconds": 1,
        "push_frequency_cap": "0/day",
        "public_url": "https://shop.example",
    }


@pytest.fixture(scope="session")
def push_settings(
    prod_env: dict[str, str], push_service: PushService, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    env = {**prod_env, "ENGAGE_REDIS_PREFIX": prod_env["ENGAGE_REDIS_PREFIX"] + "-push"}
    return settings_from(env, **_overrides(push_service, tmp_path_factory.mktemp("push-prod")))


@pytest.fixture(scope="session")
async def push_sqlite_settings(
    push_service: PushService, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    data_dir = tmp_path_factory.mktemp("push-embedded")
    env = {**TEST_ENV, "ENGAGE_DATA_DIR": str(data_dir), "ENGAGE_DATABASE_URL": "", "ENGAGE_REDIS_URL": ""}
    settings = settings_from(env, **_overrides(push_service, data_dir))
    await upgrade(settings.db_url)
    return settings


@pytest.fixture(scope="session")
async def prod_stack(push_settings: Settings) -> AsyncIterator[tuple[Services, Any]]:
    """Production mode (PostgreSQL + Redis, arq queue: jobs wait for a worker, see `arq_workers`) and an
    app over the same services (its lifespan starts and stops them)."""
    from engage.app import create_app

    services = build(push_settings, run_cron=False)
    app = create_app(push_settings, services=services)
    async with running(app):
        yield services, app


@pytest.fixture(scope="session")
async def embedded_stack(push_sqlite_settings: Settings) -> AsyncIterator[tuple[Services, Any]]:
    """Embedded mode (SQLite, in-process jobs: sinks' jobs run in this event loop) and its app."""
    from engage.app import create_app

    services = build(push_sqlite_settings, run_cron=False)
    app = create_app(push_sqlite_settings, services=services)
    async with running(app):
        yield services, app


@pytest.fixture(params=["embedded", "production"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def stack(request: pytest.FixtureRequest, mode: str) -> tuple[Services, Any]:
    return request.getfixturevalue("embedded_stack" if mode == "embedded" else "prod_stack")


@pytest.fixture
async def push_services(stack: tuple[Services, Any]) -> AsyncIterator[Services]:
    """Services of the test's mode, with VAPID keys of the test's own (see the module docstring)."""
    services = stack[0]
    previous = services.push
    services.push = build_push_env(services.settings, keys=generate_keys())
    try:
        yield services
    finally:
        await services.push.aclose()
        services.push = previous


@pytest.fixture
async def prod_services(prod_stack: tuple[Services, Any]) -> AsyncIterator[Services]:
    services = prod_stack[0]
    previous = services.push
    services.push = build_push_env(services.settings, keys=generate_keys())
    try:
        yield services
    finally:
        await services.push.aclose()
        services.push = previous


@pytest.fixture
def app(stack: tuple[Services, Any], push_services: Services) -> Any:
    return stack[1]


@pytest.fixture
async def http(app: Any) -> AsyncIterator[AppClient]:
    """An API client (no cookies) on the test's app."""
    async with AppClient(app, keep_cookies=False) as client:
        yield client


@pytest.fixture
async def browser_for(app: Any) -> Any:
    """New cookie-keeping clients (a browser each) on the test's app."""
    opened: list[AppClient] = []

    async def make() -> AppClient:
        client = AppClient(app, keep_cookies=True)
        opened.append(client)
        await client.get("/api/auth/me")
        return client

    yield make
    for client in opened:
        await client.aclose()


async def eventually(condition: Any, within: float = 20.0, step: float = 0.02) -> None:
    """Wait until `condition()` is true (a push service's deliveries arrive over real HTTP)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError(f"not true after {within} s")
        await asyncio.sleep(step)


def csrf(client: AppClient) -> dict[str, str]:
    return {"x-csrftoken": client.cookies.get("engage_csrf", "")}


@dataclass
class Person:
    user_id: int
    email: str
    token: str = ""
    devices: list[dict[str, Any]] = field(default_factory=list)  # PushSubscription.toJSON() of each
    subscription_ids: list[int] = field(default_factory=list)

    @property
    def owner(self) -> Owner:
        return Owner(f"user:{self.user_id}", self.user_id)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_users(services: Services, count: int, role: Role = Role.customer) -> list[Person]:
    if "hash" not in _HASH:
        _HASH["hash"] = await hash_password(PASSWORD)
    users = [
        User(email=f"push-{uuid.uuid4().hex[:12]}@example.test", password_hash=_HASH["hash"], role=role.value)
        for _ in range(count)
    ]
    async with services.sessionmaker() as session:
        session.add_all(users)
        await session.commit()
    return [Person(u.id, u.email) for u in users]


async def sign_in(http: AppClient, person: Person) -> Person:
    person.token = await api_token(http, person.email)  # an API client's token (browsers get the cookie)
    return person


async def add_devices(
    services: Services,
    service: PushService,
    person: Person,
    count: int = 1,
    *,
    behaviour: str = "ok",
    offers: bool = True,
    timezone: str | None = None,
    **options: Any,
) -> Person:
    """Subscribe `count` browsers of `person` (through the domain service, as the API does)."""
    env: PushEnv = services.push
    for _ in range(count):
        device = service.new_subscription(behaviour, application_server_key=env.public_key, **options)
        async with services.sessionmaker() as session:
            row = await subscriptions.subscribe(
                session,
                env,
                person.owner,
                SubscriptionIn(
                    endpoint=device["endpoint"],
                    p256dh=device["keys"]["p256dh"],
                    auth=device["keys"]["auth"],
                    timezone=timezone,
                    topics=("offers",) if offers else (),
                ),
            )
        person.devices.append(device)
        person.subscription_ids.append(row.id)
    return person


async def audience(
    services: Services, service: PushService, people: int, devices: int = 1, **options: Any
) -> list[Person]:
    persons = await make_users(services, people)
    for person in persons:
        await add_devices(services, service, person, devices, **options)
    return persons


async def set_prefs(services: Services, person: Person, **change: Any) -> None:
    async with services.sessionmaker() as session:
        await preferences.update_preferences(
            session, person.owner.key, preferences.Change(**change), user_id=person.user_id
        )


class ArqWorkers:
    """arq workers in this event loop on the services' queue (production mode's `engage worker`)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.started: list[tuple[Worker, asyncio.Task[Any]]] = []

    async def start(self, n: int = 1) -> list[Worker]:
        for _ in range(n):
            worker = Worker(
                functions=registry.TASKS,  # type: ignore[arg-type]
                redis_settings=arq_redis_settings(self.services.settings.redis_url),
                queue_name=self.services.runtime.queue_name,
                ctx=dict(self.services.runtime.job_context),
                poll_delay=0.02,
                max_jobs=20,
                job_timeout=120,
                keep_result=5,
                handle_signals=False,
            )
            self.started.append((worker, asyncio.create_task(worker.async_run())))
        return [w for w, _ in self.started]

    async def stop(self) -> None:
        for worker, task in self.started:
            task.cancel()  # takes no more jobs
            await asyncio.gather(task, return_exceptions=True)
            running = [job for job in worker.tasks.values() if not job.done()]
            if running:  # let them finish as a worker stopped by a signal would
                await asyncio.wait(running, timeout=30)
            try:
                await worker.close()  # cancels what still runs, and re-raises a job's cancellation
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
                await worker.pool.close(close_connection_pool=True)
        self.started.clear()


@pytest.fixture
async def arq_workers(prod_stack: tuple[Services, Any]) -> AsyncIterator[Any]:
    workers = ArqWorkers(prod_stack[0])
    yield workers.start
    await workers.stop()


@pytest.fixture
async def worker(mode: str, push_services: Services) -> AsyncIterator[None]:
    """Production mode needs a worker for the sinks' jobs; embedded mode runs them in process."""
    workers = ArqWorkers(push_services)
    if mode == "production":
        await workers.start(1)
    yield
    await workers.stop()
