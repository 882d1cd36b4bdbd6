"""Database engine, sessions and the declarative base shared by every domain's models."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BigInteger, CursorResult, DateTime, Integer, MetaData, Result, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from engage.platform.clock import as_utc, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL, INTEGER on SQLite (where only INTEGER PRIMARY KEY autoincrements).
BigId = BigInteger().with_variant(Integer(), "sqlite")
# The ranges of PostgreSQL's bigint and integer: a number from outside that is compared with such a column
# fails in the database, so doors bound what they accept by these (engage.http.params).
BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1


async def references_holding(session: AsyncSession, table: str, ids: list[int]) -> dict[str, int]:
    """Rows of other tables whose foreign keys stop these rows of `table` from being deleted (RESTRICT or
    NO ACTION; CASCADE and SET NULL do not), counted per referencing table. Read from the models' metadata,
    so an area can ask "what holds this?" without knowing the areas that point at it."""
    held: dict[str, int] = {}
    if not ids:
        return held
    for other in Base.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table.name != table or (fk.ondelete or "NO ACTION").upper() not in {
                "RESTRICT",
                "NO ACTION",
            }:
                continue
            count = await session.scalar(select(func.count()).select_from(other).where(fk.parent.in_(ids)))
            if count:
                held[other.name] = held.get(other.name, 0) + int(count)
    return held


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use engage.platform.clock.utcnow()")
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class IdMixin:
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# How long a request or socket frame waits for a pooled connection before it is told to retry (503 /
# `unavailable`): well under the socket heartbeat, so a busy node answers instead of dropping sockets.
POOL_WAIT_SECONDS = 10


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url, echo=echo, connect_args={"timeout": 30, "factory": _SQLiteConnection}
        )
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_timeout=POOL_WAIT_SECONDS,
        pool_pre_ping=True,
    )


class _SQLiteConnection(sqlite3.Connection):
    """Rolls back before it closes. A task cancelled mid-transaction can leave a cursor behind; closing then
    only makes the connection a zombie, still holding the write lock (and every writer waiting) until the
    garbage collector finds that cursor."""

    def close(self) -> None:
        try:
            if self.in_transaction:
                self.rollback()
        finally:
            super().close()


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE: SQLite then serialises writers instead of failing them."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: AsyncEngine, **info: Any) -> async_sessionmaker[AsyncSession]:
    """`info` travels with every session (the event publisher rides here, see engage.platform.events)."""
    return async_sessionmaker(engine, expire_on_commit=False, info=info)


def rows_matched(result: Result[*tuple[Any, ...]]) -> int:
    """How many rows an UPDATE or DELETE matched. `AsyncSession.execute` is typed to return a `Result`, yet
    for these statements it returns a `CursorResult`, the kind that has a row count."""
    return cast("CursorResult[*tuple[Any, ...]]", result).rowcount  # a DML statement's result, see above


def dialect_of(session: AsyncSession) -> str:
    """The database a session talks to: "postgresql" or "sqlite" (for dialect-specific statements)."""
    return session.get_bind().dialect.name


def insert_for(session: AsyncSession) -> Callable[[Any], postgresql.Insert]:
    """The database's INSERT with ON CONFLICT: PostgreSQL's, or SQLite's, which takes the same arguments."""
    if dialect_of(session) == "postgresql":
        return postgresql.insert
    return cast("Callable[[Any], postgresql.Insert]", sqlite.insert)


@asynccontextmanager
async def session_scope(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session
