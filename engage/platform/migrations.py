"""Alembic, driven from code: upgrade to head, check, and compare the database with the scripts."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import anyio.to_thread
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

_SCRIPTS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    cfg.attributes["url"] = url
    return cfg


@cache
def script_heads() -> frozenset[str]:
    """The heads the migration scripts define (read once: they do not change while a process runs)."""
    return frozenset(ScriptDirectory(str(_SCRIPTS)).get_heads())


async def upgrade(url: str, revision: str = "heads") -> None:
    # env.py runs its own event loop, so Alembic gets a thread of its own.
    await anyio.to_thread.run_sync(command.upgrade, alembic_config(url), revision)


async def check(url: str) -> None:
    """Raise if the models differ from what the migrations create (`alembic check`)."""
    await anyio.to_thread.run_sync(command.check, alembic_config(url))


async def database_heads(conn: AsyncConnection) -> set[str]:
    def _heads(sync_conn: Connection) -> set[str]:
        return set(MigrationContext.configure(sync_conn).get_current_heads())

    return await conn.run_sync(_heads)
