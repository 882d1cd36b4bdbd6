"""Bots test helpers: databases of a test module's own, and settling a process's events and jobs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from engage.services import Services
from tests.conftest import PG_ADMIN_URL, _with_db


@asynccontextmanager
async def fresh_postgres(tag: str) -> AsyncIterator[str]:
    """A PostgreSQL database created for the caller and dropped after (other tests' rows stay out)."""
    name = f"engage_{tag}_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield _with_db(PG_ADMIN_URL, name)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def settle(services: Services) -> None:
    """Until the events, the in-process jobs they start and the events those record have been handled."""
    for _ in range(3):
        await services.runtime.publisher.drain()
        changes = services.bots.changes
        if changes is not None:
            await changes.flush()
        join = getattr(services.runtime.jobs, "join", None)
        if join is not None:
            await join()
