"""Chat test fixtures: shoppers and agents as real identities, an event recorder, and a quiet queue."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import update

from engage.auth import service as accounts
from engage.chat.env import ChatEnv
from engage.chat.models import AgentState, Availability, Conversation, Status
from engage.platform.events import DomainEvent
from engage.platform.identity import Identity, Role
from engage.platform.runtime import Runtime
from engage.services import Services
from tests.conftest import PASSWORD, unique_email


def guest() -> Identity:
    return Identity(user_id=None, role=None, guest_id=f"g{uuid.uuid4().hex[:16]}")


@pytest.fixture
def env(services: Services) -> ChatEnv:
    return services.chat


@pytest.fixture(scope="session")
def make_user(runtime: Runtime) -> Any:
    """A real account of `role`, as the Identity its requests would carry."""

    async def make(role: Role = Role.agent, name: str = "") -> Identity:
        email = unique_email(role.value)
        async with runtime.sessionmaker() as session:
            user = await accounts.create_user(
                session, email=email, password=PASSWORD, role=role, name=name or email.split("@")[0]
            )
        return accounts.identity_of(user)

    return make


class Recorder:
    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    async def __call__(self, events: list[DomainEvent]) -> None:
        self.events.extend(events)

    def of(self, type_: str, conversation_id: int | None = None) -> list[DomainEvent]:
        return [
            e
            for e in self.events
            if e.type == type_
            and (conversation_id is None or e.data.get("conversation_id") == conversation_id)
        ]


@pytest.fixture(scope="session")
def recorder(runtime: Runtime) -> Recorder:
    """Every event the service-level runtime publishes (after commit)."""
    rec = Recorder()
    runtime.publisher.add_sink(rec)
    return rec


@pytest.fixture
async def quiet_queue(runtime: Runtime) -> AsyncIterator[None]:
    """Dispatch tests start with no agent online and nobody waiting (other tests share the database)."""

    async def quiet() -> None:
        async with runtime.sessionmaker() as session:
            await session.execute(update(AgentState).values(availability=Availability.offline.value))
            await session.execute(
                update(Conversation)
                .where(Conversation.status != Status.resolved.value)
                .values(status=Status.resolved.value, waiting_since=None)
            )
            await session.commit()

    await quiet()
    yield
    await quiet()
