"""Canned responses: saved replies an agent inserts by typing `/shortcut` in the composer."""

from __future__ import annotations

import re

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from engage.chat.models import CannedResponse
from engage.chat.text import clean_text
from engage.platform.errors import Conflict, InvalidInput, NotFound
from engage.platform.identity import Identity

_SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_BODY_CHARS = 2000


class CannedView(msgspec.Struct):
    id: int
    shortcut: str
    body: str


def _view(canned: CannedResponse) -> CannedView:
    return CannedView(id=canned.id, shortcut=canned.shortcut, body=canned.body)


def normalise_shortcut(shortcut: str) -> str:
    shortcut = shortcut.strip().lstrip("/").lower()
    if not _SHORTCUT.match(shortcut):
        raise InvalidInput(
            "a shortcut is 1-40 lowercase letters, digits, - or _", code="bad_shortcut", field="shortcut"
        )
    return shortcut


async def list_canned(session: AsyncSession, prefix: str = "") -> list[CannedView]:
    query = select(CannedResponse).order_by(CannedResponse.shortcut)
    prefix = prefix.strip().lstrip("/").lower()
    if prefix:
        query = query.where(CannedResponse.shortcut.startswith(prefix, autoescape=True))
    return [_view(c) for c in (await session.scalars(query.limit(200))).all()]


async def save_canned(
    session: AsyncSession, ident: Identity, *, shortcut: str, body: str, canned_id: int | None = None
) -> CannedView:
    """Create (or, with `canned_id`, change) a canned response. Commits."""
    shortcut = normalise_shortcut(shortcut)
    body = clean_text(body, max_chars=MAX_BODY_CHARS)
    if canned_id is None:
        canned = CannedResponse(shortcut=shortcut, body=body, created_by=ident.user_id)
        session.add(canned)
    else:
        found = await session.get(CannedResponse, canned_id)
        if found is None:
            raise NotFound("no such canned response", code="canned_not_found")
        canned = found
        canned.shortcut, canned.body = shortcut, body
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict(f"/{shortcut} already exists", code="shortcut_taken", field="shortcut") from None
    return _view(canned)


async def delete_canned(session: AsyncSession, canned_id: int) -> None:
    canned = await session.get(CannedResponse, canned_id)
    if canned is None:
        raise NotFound("no such canned response", code="canned_not_found")
    await session.delete(canned)
    await session.commit()


EXAMPLES = {
    "hi": "Hi! Thanks for reaching out. How can I help you today?",
    "thanks": "Thanks for waiting! I'm looking into this for you now.",
    "shipping": "Standard shipping takes 3-5 working days; express arrives in 1-2. You'll get a tracking link by email.",
    "returns": "You can return anything within 30 days: start a return from your orders page (the help centre has the details).",
    "bye": "Glad I could help! Is there anything else I can do for you?",
}


async def seed_examples(session: AsyncSession) -> int:
    """The demo shop's canned responses (existing shortcuts are kept as edited). Returns how many were added."""
    taken = set((await session.scalars(select(CannedResponse.shortcut))).all())
    added = [CannedResponse(shortcut=k, body=v) for k, v in EXAMPLES.items() if k not in taken]
    session.add_all(added)
    await session.commit()
    return len(added)
