"""Attachments: images and PDFs, recognised by their content (never their name), bounded in size, stored in
object storage and served only to the conversation's shopper and staff who may see it."""

from __future__ import annotations

import re
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from engage.chat import messages, timeline
from engage.chat.env import ChatEnv
from engage.chat.models import Attachment
from engage.chat.participants import access_conversation, sender_of
from engage.chat.text import check_client_id
from engage.chat.views import Ack
from engage.platform.blobs import BlobNotFound
from engage.platform.errors import InvalidInput, NotFound
from engage.platform.identity import Identity

# (content type, file extension) by leading bytes. SVG is refused: it is a document that can run script.
_PNG = b"\x89PNG\r\n\x1a\n"


def sniff(data: bytes) -> tuple[str, str] | None:
    if data.startswith(_PNG):
        return "image/png", "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif", "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf", "pdf"
    return None


def is_image(content_type: str) -> bool:
    return content_type.startswith("image/")


def safe_filename(name: str, extension: str) -> str:
    stem = (name or "").replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    stem = re.sub(r"[^\w .()-]+", "_", stem).strip(" ._")[:80] or "file"
    return f"{stem}.{extension}"


async def upload(
    session: AsyncSession,
    env: ChatEnv,
    ident: Identity,
    conversation_id: int,
    *,
    filename: str,
    data: bytes,
    text: str = "",
    client_id: str | None = None,
) -> Ack:
    """Store a file and post it as a message (with optional text). A re-send with the same client id is
    answered with the stored message and stores nothing."""
    if len(data) > env.limits.attachment_max_bytes:
        raise InvalidInput(
            f"a file can be at most {env.limits.attachment_max_bytes // 1024} KiB",
            code="attachment_too_large",
            field="file",
        )
    if not data:
        raise InvalidInput("the file is empty", code="attachment_empty", field="file")
    kind = sniff(data)
    if kind is None:
        raise InvalidInput(
            "only images (PNG, JPEG, GIF, WebP) and PDF files can be sent",
            code="attachment_type",
            field="file",
        )
    content_type, extension = kind
    if client_id is not None:
        check_client_id(client_id)
    conversation, side = await access_conversation(session, ident, conversation_id)
    if client_id is not None:
        stored = await timeline.find_sent(session, conversation.id, sender_of(ident, side).key, client_id)
        if stored is not None:
            await session.commit()
            return messages.ack_of(stored, True, side)
    await session.commit()

    key = f"chat/{conversation.id}/{uuid.uuid4().hex}.{extension}"
    await env.blobs.put(key, data, content_type)
    try:
        attachment = Attachment(
            conversation_id=conversation.id,
            storage_key=key,
            filename=safe_filename(filename, extension),
            content_type=content_type,
            size=len(data),
            uploaded_by=sender_of(ident, side).key,
        )
        session.add(attachment)
        await session.flush()
        ack = await messages.post(
            session, env, ident, conversation_id, text=text, client_id=client_id, attachment=attachment
        )
    except BaseException:
        await session.rollback()
        await env.blobs.delete(key)
        raise
    if ack.duplicate:  # a racing copy stored it first
        await env.blobs.delete(key)
    return ack


async def open_attachment(
    session: AsyncSession, env: ChatEnv, ident: Identity, attachment_id: int
) -> tuple[Attachment, bytes]:
    """The file, for the conversation's shopper and staff who may see the conversation only."""
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("no such attachment", code="attachment_not_found")
    try:
        await access_conversation(session, ident, attachment.conversation_id)
    except NotFound:
        raise NotFound("no such attachment", code="attachment_not_found") from None
    try:
        return attachment, await env.blobs.get(attachment.storage_key)
    except BlobNotFound:
        raise NotFound("the file is no longer stored", code="attachment_gone") from None
