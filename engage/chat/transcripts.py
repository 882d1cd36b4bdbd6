"""Transcripts: the whole conversation as plain text, to download or to receive by email.

The shopper's transcript holds what the shopper saw (no notes, no private events); staff get everything.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.chat.models import Attachment, Conversation, Message
from engage.chat.participants import Side, access_conversation
from engage.chat.text import clean_text
from engage.config import Settings
from engage.platform.errors import InvalidInput
from engage.platform.identity import Identity
from engage.platform.mail import send_mail

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_AUTHOR_LABEL = {"shopper": "You", "system": "—"}


def filename_of(conversation: Conversation) -> str:
    return f"conversation-{conversation.id}-{conversation.created_at:%Y%m%d}.txt"


async def render(session: AsyncSession, conversation: Conversation, side: Side) -> str:
    query = (
        select(Message, Attachment)
        .outerjoin(Attachment, Attachment.id == Message.attachment_id)
        .where(Message.conversation_id == conversation.id)
        .order_by(Message.seq)
    )
    if side is Side.shopper:
        query = query.where(Message.private.is_(False))
    lines = [
        f"Conversation #{conversation.id}",
        f"Started {conversation.created_at:%Y-%m-%d %H:%M} UTC · status {conversation.status}",
        "",
    ]
    for message, attachment in (await session.execute(query)).all():
        if side is Side.shopper:
            who = _AUTHOR_LABEL.get(message.author, message.author_name or message.author.title())
        else:
            who = message.author_name or _AUTHOR_LABEL.get(message.author, message.author.title())
            if message.author == "shopper":
                who = conversation.contact_name or conversation.contact_email or "Shopper"
        tag = " [note]" if message.kind == "note" else (" [private]" if message.private else "")
        body = message.body
        if attachment is not None:
            body = (
                body + "\n" if body else ""
            ) + f"[attachment: {attachment.filename}, {attachment.size} bytes]"
        stamp = f"{message.created_at:%Y-%m-%d %H:%M:%S}"
        lines.append(f"[{stamp}] {who}{tag}:")
        lines.extend("    " + line for line in body.splitlines() or [""])
    return "\n".join(lines) + "\n"


async def transcript_for(session: AsyncSession, ident: Identity, conversation_id: int) -> tuple[str, str]:
    """(file name, text) of the transcript as `ident` may see it."""
    conversation, side = await access_conversation(session, ident, conversation_id)
    return filename_of(conversation), await render(session, conversation, side)


def check_email(email: str) -> str:
    email = clean_text(email, max_chars=254).lower()
    if not _EMAIL.match(email):
        raise InvalidInput("enter a valid email address", code="bad_email", field="email")
    return email


async def email_transcript(
    session: AsyncSession, settings: Settings, conversation_id: int, *, to: str, side: Side
) -> None:
    """Send the transcript (as `side` sees it) to `to`; run by a job after the request was authorised."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        return  # purged meanwhile
    text = await render(session, conversation, side)
    await send_mail(
        settings,
        to=to,
        subject=f"Your conversation with us (#{conversation.id})",
        text=text,
        filename=filename_of(conversation),
    )
