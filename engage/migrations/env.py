"""Alembic environment: async, for SQLite and PostgreSQL. The URL comes from Engage's settings."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from engage.config import load_settings
from engage.platform.db import make_engine
from engage.schema import metadata

config = context.config


def _url() -> str:
    return config.attributes.get("url") or load_settings().db_url


def _include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Objects a migration creates by hand (FTS5 tables, GIN indexes) are not Alembic's to compare."""
    return not (name and name.startswith(tuple(metadata.info.get("unmanaged_prefixes", ()))))


def _configure(connection: Connection | None = None, **kwargs: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_name=_include_name,
        render_as_batch=True,  # SQLite can only ALTER through table copies
        compare_type=True,
        **kwargs,
    )


def run_offline() -> None:
    _configure(url=_url(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_sync(connection)
        return
    engine = make_engine(_url())
    async with engine.connect() as conn:
        await conn.run_sync(_run_sync)
        await conn.commit()
    await engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    asyncio.run(run_online())
