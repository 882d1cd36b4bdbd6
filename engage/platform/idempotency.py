"""Idempotency for unsafe requests with an `Idempotency-Key`, as Stripe does it: the first answer is stored
in the database and replayed for every repeat, concurrent repeats and other nodes included (they wait for the
first to finish). A key is scoped to who sent it and what it is for; the same key with a different body is
refused (422). A first request that failed on our side (5xx, or its process died) frees its key, so a retry
runs again.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, String, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from engage.platform.clock import utcnow
from engage.platform.db import Base, rows_matched
from engage.platform.errors import Conflict, InvalidInput

MAX_KEY_LENGTH = 255
# A repeat waits this long for the first request to finish before answering "still in progress".
WAIT_SECONDS = 30.0
_POLL_SECONDS = 0.05
# A first request that has not finished after this long died with its process: a repeat may take over.
STALE_AFTER = timedelta(minutes=5)


class IdempotentRequest(Base):
    """The first answer to a request sent with an `Idempotency-Key`, replayed for every repeat."""

    __tablename__ = "idempotent_requests"

    scope: Mapped[str] = mapped_column(String(120), primary_key=True)  # who and what: "guest:x|POST /api/..."
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # of the request body: a different body is refused
    status_code: Mapped[int | None] = mapped_column(default=None)  # None while the first request runs
    body: Mapped[Any | None] = mapped_column(JSON, default=None)  # {"media_type", "content"}
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int
    media_type: str
    content: str
    replayed: bool = False


def fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


async def _claim(session: AsyncSession, scope: str, key: str, digest: str) -> bool:
    """True if this request is the first with the key (and now owns it)."""
    try:
        session.add(IdempotentRequest(scope=scope, key=key, fingerprint=digest))
        await session.commit()
        return True
    except IntegrityError:
        await session.rollback()
        return False


async def _finished(session: AsyncSession, scope: str, key: str, digest: str) -> Answer | None:
    row = await session.scalar(
        select(IdempotentRequest)
        .where(IdempotentRequest.scope == scope, IdempotentRequest.key == key)
        .execution_options(populate_existing=True)
    )
    await session.commit()  # end the read (the next poll must see fresh rows); a rollback would expire `row`
    if row is None:
        return None
    if row.fingerprint != digest:
        raise InvalidInput(
            "this Idempotency-Key was used for a different request", code="idempotency_key_reused"
        )
    if row.status_code is None:
        if utcnow() - row.created_at > STALE_AFTER:
            await _free(session, row.scope, row.key)
            return None
        raise _Running
    stored = row.body if isinstance(row.body, dict) else {}
    return Answer(
        row.status_code,
        str(stored.get("media_type", "application/json")),
        str(stored.get("content", "")),
        replayed=True,
    )


class _Running(Exception):
    pass


def check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            f"send an Idempotency-Key header of 1 to {MAX_KEY_LENGTH} characters", field="Idempotency-Key"
        )
    return key


async def run_once(
    session: AsyncSession, *, scope: str, key: str, body: bytes, handler: Callable[[], Awaitable[Answer]]
) -> Answer:
    """Run `handler` for the first request with `key`; replay its answer for the others. An answer of 500 or
    more, or an exception, is not kept: the key is freed so that a retry runs again."""
    key = check_key(key)
    digest = fingerprint(body)
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while not await _claim(session, scope, key, digest):
        if asyncio.get_running_loop().time() > deadline:
            raise Conflict("the first request with this Idempotency-Key is still running; retry later")
        try:
            answer = await _finished(session, scope, key, digest)
        except _Running:
            await asyncio.sleep(_POLL_SECONDS)
            continue
        if answer is not None:
            return answer
        # the first request failed and freed the key: try to claim it again
    try:
        answer = await handler()
    except BaseException:
        await _free(session, scope, key)
        raise
    if answer.status_code >= 500:
        await _free(session, scope, key)
    else:
        await _store(session, scope, key, answer)
    return answer


async def _free(session: AsyncSession, scope: str, key: str) -> None:
    await session.rollback()
    await session.execute(
        delete(IdempotentRequest).where(IdempotentRequest.scope == scope, IdempotentRequest.key == key)
    )
    await session.commit()


async def _store(session: AsyncSession, scope: str, key: str, answer: Answer) -> None:
    await session.rollback()  # whatever the handler left open is not ours to commit
    await session.execute(
        update(IdempotentRequest)
        .where(IdempotentRequest.scope == scope, IdempotentRequest.key == key)
        .values(
            status_code=answer.status_code,
            body={"media_type": answer.media_type, "content": answer.content},
            completed_at=utcnow(),
        )
    )
    await session.commit()


async def forget_older_than(session: AsyncSession, days: int = 2) -> int:
    """Stored answers are kept two days (Stripe keeps its keys at least 24 hours)."""
    result = await session.execute(
        delete(IdempotentRequest).where(IdempotentRequest.created_at < utcnow() - timedelta(days=days))
    )
    await session.commit()
    return rows_matched(result)
