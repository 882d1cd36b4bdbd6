"""The shopper's live context beside a conversation in the console: who they are, what they are looking at,
their earlier conversations, and sections other areas contribute (commerce: cart and recent orders).

Sections live in `Services.context_sections` (name -> async (session, owner_key,
user_id) -> JSON-ready data); an area adds its own there in engage/wiring.py (e.g. "flash_sales").
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.models import Product
from engage.chat import events
from engage.chat.conversations import current_of
from engage.chat.env import ChatEnv
from engage.chat.events import Viewing
from engage.chat.models import Conversation, Rating
from engage.chat.participants import access_as_staff, shopper_key
from engage.platform.clock import utcnow
from engage.platform.errors import InvalidInput, NotFound
from engage.platform.events import domain_event
from engage.platform.identity import Identity
from engage.platform.stores import KeyValue

# A product page counts as "being viewed" for half an hour after the page reported it.
VIEWING_TTL_SECONDS = 30 * 60
_HANDLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")

# A section of the side panel from another area: (session, owner_key, user_id) -> JSON-ready data or None.
ContextSection = Callable[[AsyncSession, str, int | None], Awaitable[Any]]


class Contact(msgspec.Struct):
    name: str
    email: str
    is_guest: bool
    user_id: int | None
    conversations: int
    average_rating: float | None


class ShopperContext(msgspec.Struct):
    conversation_id: int
    contact: Contact
    viewing: Viewing | None
    sections: dict[str, Any]


def _viewing_key(owner_key: str) -> str:
    return f"chat:viewing:{owner_key}"


async def report_viewing(
    session: AsyncSession, env: ChatEnv, store: KeyValue, ident: Identity, handle: str
) -> Viewing | None:
    """The storefront says the shopper is on a product page; their agent sees it live."""
    key = shopper_key(ident)
    if key is None:
        return None
    if not _HANDLE.match(handle):
        raise InvalidInput("bad product handle", code="bad_handle", field="handle")
    name = await session.scalar(select(Product.name).where(Product.handle == handle))
    if name is None:
        raise NotFound("no such product", code="product_not_found")
    viewing = Viewing(handle=handle, name=name, url=f"/products/{handle}", since=utcnow())
    await store.set(_viewing_key(key), msgspec.json.encode(viewing), expires_in=VIEWING_TTL_SECONDS)
    conversation = await current_of(session, key)
    await session.commit()
    if conversation is not None:
        changed = events.ContextChanged(conversation_id=conversation.id, viewing=viewing)
        await env.publisher.publish([domain_event(changed, [events.staff_channel(conversation.id)])])
    return viewing


async def viewing_of(store: KeyValue, owner_key: str) -> Viewing | None:
    raw = await store.get(_viewing_key(owner_key))
    return msgspec.json.decode(raw, type=Viewing) if raw else None


async def shopper_context(
    session: AsyncSession,
    store: KeyValue,
    ident: Identity,
    conversation_id: int,
    sections: Mapping[str, ContextSection] | None = None,
) -> ShopperContext:
    conversation = await access_as_staff(session, ident, conversation_id)
    count, average = (
        await session.execute(
            select(func.count(Conversation.id), func.avg(Rating.score))
            .select_from(Conversation)
            .outerjoin(Rating, Rating.conversation_id == Conversation.id)
            .where(Conversation.owner_key == conversation.owner_key)
        )
    ).one()
    contact = Contact(
        name=conversation.contact_name,
        email=conversation.contact_email,
        is_guest=conversation.user_id is None,
        user_id=conversation.user_id,
        conversations=int(count),
        average_rating=round(float(average), 2) if average is not None else None,
    )
    found: dict[str, Any] = {}
    for name, section in (sections or {}).items():
        found[name] = await section(session, conversation.owner_key, conversation.user_id)
    return ShopperContext(
        conversation_id=conversation.id,
        contact=contact,
        viewing=await viewing_of(store, conversation.owner_key),
        sections=found,
    )
