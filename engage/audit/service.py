"""The audit trail: record what staff change, find it again, export it."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from engage.audit.models import AuditEntry
from engage.platform.clock import as_utc
from engage.platform.identity import Identity

MAX_DETAIL_BYTES = 4096
SECRET_KEYS = ("password", "token", "otp", "secret", "code", "payment_method", "card", "auth", "p256dh")
REDACTED = "[redacted]"


@dataclass(frozen=True, slots=True)
class Change:
    """What a staff request changed, as the door saw it."""

    actor: Identity
    address: str
    action: str
    target: dict[str, Any]
    status: int
    body: bytes
    before: list[dict[str, Any]] = field(default_factory=list)  # what the services said they replaced


class EntryView(msgspec.Struct):
    id: int
    at: datetime
    actor_id: int | None
    actor_email: str
    actor_role: str
    address: str
    action: str
    target: dict[str, Any]
    status: int
    detail: dict[str, Any]


class EntryPage(msgspec.Struct):
    entries: list[EntryView]
    next_before: int | None  # the id to pass as `before` for the page after this one


def redact(value: Any) -> Any:
    """The value with every secret-looking field's value replaced (at any depth)."""
    if isinstance(value, dict):
        return {
            k: REDACTED if any(s in str(k).lower() for s in SECRET_KEYS) else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _kept(name: str, value: Any) -> dict[str, Any]:
    """`value` under `name`, secrets redacted, cut to MAX_DETAIL_BYTES of JSON text."""
    text = json.dumps(redact(value), ensure_ascii=False, default=str)
    if len(text.encode()) > MAX_DETAIL_BYTES:
        return {name: text.encode()[:MAX_DETAIL_BYTES].decode("utf-8", "ignore"), "truncated": True}
    return {name: json.loads(text)}


def _detail(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        return {"body": f"{len(body)} bytes, not JSON"}
    return _kept("body", data)


def _replaced(before: list[dict[str, Any]]) -> dict[str, Any]:
    return _kept("before", before) if before else {}


def _entry(change: Change) -> AuditEntry:
    actor = change.actor
    return AuditEntry(
        actor_id=actor.user_id,
        actor_email=(actor.email or "")[:254],
        actor_role=actor.role.value if actor.role else "",
        address=change.address[:64],
        action=change.action[:200],
        target={k: str(v) for k, v in change.target.items()},
        status=change.status,
        detail=_detail(change.body) | _replaced(change.before),
    )


async def record(sessionmaker: async_sessionmaker[AsyncSession], change: Change) -> None:
    """Write one entry in a transaction of its own (after the change was answered)."""
    async with sessionmaker() as session:
        session.add(_entry(change))
        await session.commit()


async def record_sign_in(
    session: AsyncSession, *, actor: Identity, address: str, succeeded: bool, email: str = ""
) -> None:
    """A staff sign-in, or a failed one for a staff account (commits)."""
    entry = _entry(
        Change(
            actor, address, "sign_in" if succeeded else "sign_in_failed", {}, 200 if succeeded else 401, b""
        )
    )
    entry.actor_email = entry.actor_email or email[:254]
    session.add(entry)
    await session.commit()


async def search(
    session: AsyncSession,
    *,
    q: str = "",
    actor_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
    limit: int = 50,
) -> EntryPage:
    """Newest first; `q` matches the action or the actor's email (a part of either). Times without an
    offset are UTC."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if q:
        pattern = f"%{q.replace('%', '').replace('_', '')}%"
        query = query.where(or_(AuditEntry.action.ilike(pattern), AuditEntry.actor_email.ilike(pattern)))
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    if since is not None:
        query = query.where(AuditEntry.at >= as_utc(since))
    if until is not None:
        query = query.where(AuditEntry.at < as_utc(until))
    if before is not None:
        query = query.where(AuditEntry.id < before)
    rows = (await session.scalars(query)).all()
    entries = [msgspec.convert(_as_dict(row), EntryView) for row in rows]
    return EntryPage(entries, entries[-1].id if len(entries) == limit else None)


def _as_dict(row: AuditEntry) -> dict[str, Any]:
    return {field: getattr(row, field) for field in EntryView.__struct_fields__}


def _cell(value: Any) -> str:
    """A spreadsheet cell that a spreadsheet will not run as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def as_csv(page: EntryPage) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "id",
            "at",
            "actor_id",
            "actor_email",
            "actor_role",
            "address",
            "action",
            "target",
            "status",
            "detail",
        ]
    )
    for e in page.entries:
        row = [
            e.id,
            e.at.isoformat(),
            e.actor_id or "",
            e.actor_email,
            e.actor_role,
            e.address,
            e.action,
            json.dumps(e.target),
            e.status,
            json.dumps(e.detail, ensure_ascii=False),
        ]
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()
