"""A shopper's conversations in a privacy request: every message they can see, exported; on erasure, what
they wrote is replaced by "[erased]", their contact email and their attachments go, and the conversations
stay (staff's side of them is the shop's record)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from engage.auth import ERASED_TEXT, PersonalData
from engage.chat.models import Attachment, Author, Conversation, Message, Rating


def _theirs(user_id: int) -> Any:
    return Conversation.user_id == user_id


async def _export(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    conversations = (await session.scalars(select(Conversation).where(_theirs(user_id)))).all()
    out = []
    for c in conversations:
        messages = await session.scalars(
            select(Message)
            .where(Message.conversation_id == c.id, Message.private.is_(False))
            .order_by(Message.seq)
        )
        out.append(
            {
                "id": c.id,
                "started_at": c.created_at.isoformat(),
                "status": c.status,
                "contact_email": c.contact_email,
                "messages": [
                    {"at": m.created_at.isoformat(), "from": m.author, "name": m.author_name, "text": m.body}
                    for m in messages
                ],
            }
        )
    return out


async def _erase(session: AsyncSession, user_id: int) -> None:
    ids = select(Conversation.id).where(_theirs(user_id)).scalar_subquery()
    await session.execute(
        update(Message)
        .where(Message.conversation_id.in_(ids), Message.author == Author.shopper.value)
        .values(body=ERASED_TEXT, author_name="", meta={})
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Message)
        .where(Message.conversation_id.in_(ids), Message.attachment_id.is_not(None))
        .values(attachment_id=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(Attachment)
        .where(Attachment.conversation_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Rating)
        .where(Rating.conversation_id.in_(ids))
        .values(comment="")
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Conversation)
        .where(_theirs(user_id))
        .values(contact_email="", reply_email="")
        .execution_options(synchronize_session=False)
    )


personal_data = PersonalData("chats", _export, _erase)
