"""Database engine, sessions and the declarative base shared by every domain's models."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BigInteger, CursorResult, DateTime, Integer, MetaData, Result, event, exc, func, select
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


def make_engine(url: str, *, pool_size: int = 20, echo: bool = False) -> AsyncEngine:
    """`pool_size`: the most PostgreSQL connections the process holds. Each is opened when first needed and
    kept: a burst's connections serve the next burst (overflow connections, closed as soon as they were
    returned, had every burst open and prepare its connections again)."""
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url, echo=echo, connect_args={"timeout": 30, "factory": _SQLiteConnection}
        )
        _configure_sqlite(engine)
        return engine
    engine = create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=0, pool_timeout=POOL_WAIT_SECONDS
    )
    _check_on_checkout(engine)
    return engine


# A pooled PostgreSQL connection is pinged (SQLAlchemy's pre-ping costs BEGIN, a statement and ROLLBACK:
# three round trips) only when it sat unused this long, where a firewall or a failover may have dropped it
# silently. One the server closed (a restart, pg_terminate_backend) is known without a round trip.
PING_AFTER_IDLE_SECONDS = 10.0


def _check_on_checkout(engine: AsyncEngine) -> None:
    """Hand out only live connections: a closed or (after idling) unanswering one is replaced at checkout
    (DisconnectionError makes the pool take another), never failing the request that asked."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connected(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _check(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if dbapi_conn.driver_connection.is_closed():
            raise exc.DisconnectionError("the server closed this connection")
        if time.monotonic() - record.info.get("idle_since", 0.0) > PING_AFTER_IDLE_SECONDS:
            try:
                engine.dialect.do_ping(dbapi_conn)
            except Exception as error:
                raise exc.DisconnectionError(f"no answer to a ping: {error}") from error


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
