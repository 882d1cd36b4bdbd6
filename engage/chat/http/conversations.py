"""Chat's shopper and participant door: start, read and write conversations, receipts, typing, hand-off,
rating, transcripts, attachments. The `shopper` guard admits anyone with a session or sign-in; the domain
checks that the conversation is theirs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from engage.chat import (
    attachments,
    context,
    conversations,
    csat,
    inbox,
    messages,
    offline,
    transcripts,
)
from engage.chat.indicators import typing
from engage.chat.models import Author, Status
from engage.chat.participants import Side, access_conversation, shopper_key
from engage.chat.views import Ack, MessageView, ShopperConversationView, StaffConversationView
from engage.http.guards import identity_of, public, shopper
from engage.platform.clock import as_utc
from engage.platform.db import BIGINT_MAX
from engage.platform.errors import InvalidInput, PermissionDenied
from engage.services import Services

ConversationId = Annotated[int, Parameter(gt=0, le=2**62, description="conversation id")]
ClientId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Text = Annotated[str, msgspec.Meta(max_length=100_000)]


class StartChat(msgspec.Struct, forbid_unknown_fields=True):
    text: Text | None = None
    client_id: ClientId | None = None
    team: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    human: bool = False


class ContactIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class Started(msgspec.Struct):
    conversation: ShopperConversationView
    created: bool
    ack: Ack | None = None


class NewMessage(msgspec.Struct, forbid_unknown_fields=True):
    text: Text
    client_id: ClientId | None = None
    private: bool = False


class Page(msgspec.Struct):
    items: list[MessageView]
    has_more: bool


class Receipts(msgspec.Struct, forbid_unknown_fields=True):
    delivered: Annotated[int, msgspec.Meta(ge=0)] | None = None
    read: Annotated[int, msgspec.Meta(ge=0)] | None = None


class Receipt(msgspec.Struct):
    conversation_id: int
    side: str
    delivered_seq: int
    read_seq: int


class Typing(msgspec.Struct, forbid_unknown_fields=True):
    typing: bool
    private: bool = False


class Handoff(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=300)] = "asked for a person"


class StatusChange(msgspec.Struct, forbid_unknown_fields=True):
    status: Status
    snoozed_until: datetime | None = None


class RatingIn(msgspec.Struct, forbid_unknown_fields=True):
    score: Annotated[int, msgspec.Meta(ge=1, le=5)]
    comment: Annotated[str, msgspec.Meta(max_length=1000)] = ""


class TranscriptMail(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None


class Queued(msgspec.Struct):
    queued: bool
    email: str


class Viewing(msgspec.Struct, forbid_unknown_fields=True):
    handle: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class ConversationController(Controller):
    path = "/api/chat"
    tags = ["chat"]
    guards = [shopper]

    @post("/conversations", status_code=201)
    async def start(
        self, request: Request[Any, Any, Any], data: StartChat, db_session: AsyncSession, services: Services
    ) -> Response[Started]:
        """Start a conversation (or get the open one), optionally with its first message."""
        env, ident = services.chat, identity_of(request)
        conversation, created = await conversations.start(
            db_session, env, ident, team=data.team, human=data.human
        )
        ack = None
        if data.text is not None:
            ack = await messages.post(
                db_session, env, ident, conversation.id, text=data.text, client_id=data.client_id
            )
            conversation, _ = await access_conversation(db_session, ident, conversation.id)
        view = await inbox.describe(db_session, env, conversation, Side.shopper)
        assert isinstance(view, ShopperConversationView)
        return Response(
            Started(conversation=view, created=created, ack=ack), status_code=201 if created else 200
        )

    @get("/conversations")
    async def mine(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, services: Services
    ) -> list[ShopperConversationView]:
        """The shopper's own conversations, newest first."""
        rows = await conversations.list_for_shopper(db_session, identity_of(request))
        out = []
        for row in rows:
            view = await inbox.describe(db_session, services.chat, row, Side.shopper)
            assert isinstance(view, ShopperConversationView)
            out.append(view)
        return out

    @get("/conversations/current")
    async def current(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, services: Services
    ) -> ShopperConversationView | None:
        """The shopper's unresolved conversation (null when there is none)."""
        key = shopper_key(identity_of(request))
        conversation = await conversations.current_of(db_session, key) if key else None
        if conversation is None:
            return None
        view = await inbox.describe(db_session, services.chat, conversation, Side.shopper)
        assert isinstance(view, ShopperConversationView)
        return view

    @get("/conversations/{conversation_id:int}")
    async def show(
        self,
        request: Request[Any, Any, Any],
        conversation_id: ConversationId,
        db_session: AsyncSession,
        services: Services,
    ) -> ShopperConversationView | StaffConversationView:
        conversation, side = await access_conversation(db_session, identity_of(request), conversation_id)
        return await inbox.describe(db_session, services.chat, conversation, side)

    @get("/conversations/{conversation_id:int}/messages")
    async def history(
        self,
        request: Request[Any, Any, Any],
        conversation_id: ConversationId,
        db_session: AsyncSession,
        after: Annotated[
            int | None, Parameter(ge=0, le=BIGINT_MAX, description="replay what followed this seq")
        ] = None,
        before: Annotated[
            int | None, Parameter(ge=1, le=BIGINT_MAX, description="the page before this seq")
        ] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> Page:
        """Paged history (newest page, or `before` a seq), or everything `after` a seq (resume)."""
        items, more = await messages.history(
            db_session, identity_of(request), conversation_id, after=after, before=before, limit=limit
        )
        return Page(items=items, has_more=more)

    @post("/conversations/{conversation_id:int}/messages", status_code=201)
    async def send(
        self,
        request: Request[Any, Any, Any],
        conversation_id: ConversationId,
        data: NewMessage,
        db_session: AsyncSession,
        services: Services,
    ) -> Response[Ack]:
        """Post a message (agents: `private` for a note). Stored before the answer; a re-send of a
        `client_id` answers 200 with the stored message."""
        ack = await messages.post(
            db_session,
            services.chat,
            identity_of(request),
            conversation_id,
            text=data.text,
            client_id=data.client_id,
            private=data.private,
        )
        return Response(ack, status_code=200 if ack.duplicate else 201)

    @post("/conversations/{conversation_id:int}/receipts", status_code=200)
    async def receipts(
        self,
        request: Request[Any, Any, Any],
        conversation_id: ConversationId,
        data: Receipts,
        db_session: AsyncSession,
    ) -> Receipt | None:
        """Delivered/read up to a sequence, for the asking side (never lowers it)."""
        receipt = await messages.mark_receipts(
            db_session, identity_of(request), conversation_id, delivered=data.delivered, read=data.read
        )
        return Receipt(**receipt) if receipt else None

    @post("/conversations/{conversation_id:int}/typing", status_code=204)
    async def typing(
        self,
        request: Request[Any, Any, Any],
        conversation_id: ConversationId,
        data: Typing,
        db_session: AsyncSession,
        services: Services,
    ) -> None:
        ident = identity_of(request)
        _, side = await access_conversation(db_session, ident, conversation_id)
        if side is Side.shopper:
            await typing(services.chat, conversation_id, Author.shopper, "", data.typing)
        else:
            await typing(
                services.chat,
                conversation_id,
                Author.agent,
                ident.name or ident.email or "",
                data.typing,
                private=data.private,
            )

    @post("/conversations/{conversation_id:int}/handoff", status_code=200)
    async def handoff(
        self,
        request: Request[Any, Any, Any],
        conversation_id: ConversationId,
        data: Handoff,
        db_session: AsyncSession,
        services: Services,
    ) -> ShopperConversationView | StaffConversationView:
        """The shopper asks for a person: the conversation leaves the bot for the human queue."""
        ident = identity_of(request)
        _, side = await access_conversation(db_session, ident, conversation_id)
        if side is not Side.shopper:
            raise InvalidInput("agents take a conversation with /assign", code="shopper_only")
        conversation = await conversations.hand_off(
            db_session, services.chat, conversation_id, by="shopper", reason=data.reason
        )
        return await inbox.describe(db_session, services.chat, conversation, side)

    @post("/conversations/{conversation_id:int}/status", status_code=200)
    async def change_status(
        self,
        request: Request[Any, Any, Any],
        conversation_id: ConversationId,
        data: StatusChange,
        db_session: AsyncSession,
        services: Services,
    ) -> ShopperConversationView | StaffConversationView:
        """Staff: open, pending, snoozed (until), resolved. The shopper: resolved (end the chat)."""
        ident = identity_of(request)
        conversation = await conversations.set_status(
            db_session,
            services.chat,
            ident,
            conversation_id,
            data.status,
            snoozed_until=as_utc(data.snoozed_until) if data.snoozed_until else None,
        )
        _, side = await access_conversation(db_session, ident, conversation.id)
        return await inbox.describe(db_session, services.chat, conversation, side)

    @get("/support-status", guards=[public])
    async def support_status(self, services: Services, db_session: AsyncSession) -> offline.SupportStatus:
        """Whether anyone of the team is online, the expected wait, the office hours."""
        return await offline.support_status(db_session, services.settings)

    @post("/conversations/{conversation_id:int}/contact", status_code=204)
    async def leave_email(
        self,
        request: Request[Any, Any, Any],
        conversation_id: ConversationId,
        data: ContactIn,
        db_session: AsyncSession,
    ) -> None:
        """Nobody online: the shopper leaves an email; a reply no open widget received is mailed there."""
        conversation, side = await access_conversation(
            db_session, identity_of(request), conversation_id, lock=True
        )
        if side is not Side.shopper:
            raise PermissionDenied("only the shopper leaves their email here")
        await offline.leave_email(db_session, conversation, data.email)

    @post("/conversations/{conversation_id:int}/rating", status_code=200)
    async def rate(
        self,
        request: Request[Any, Any, Any],
        conversation_id: ConversationId,
        data: RatingIn,
        db_session: AsyncSession,
    ) -> csat.RatingView:
        """The shopper rates an ended conversation (1-5 and an optional comment)."""
        return await csat.rate(
            db_session, identity_of(request), conversation_id, score=data.score, comment=data.comment
        )

    @get("/conversations/{conversation_id:int}/transcript", media_type="text/plain")
    async def transcript(
        self, request: Request[Any, Any, Any], conversation_id: ConversationId, db_session: AsyncSession
    ) -> Response[str]:
        """The transcript as a text file (the shopper's holds no notes)."""
        filename, text = await transcripts.transcript_for(db_session, identity_of(request), conversation_id)
        return Response(
            text,
            media_type="text/plain; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
            },
        )

    @post("/conversations/{conversation_id:int}/transcript/email", status_code=202)
    async def email_transcript(
        self,
        request: Request[Any, Any, Any],
        conversation_id: ConversationId,
        data: TranscriptMail,
        db_session: AsyncSession,
        services: Services,
    ) -> Queued:
        """Mail the transcript (to the account's address unless another is given); sent by a job."""
        env, ident = services.chat, identity_of(request)
        conversation, side = await access_conversation(db_session, ident, conversation_id)
        to = data.email or ident.email
        if not to:
            raise InvalidInput("enter an email address", code="email_required", field="email")
        to = transcripts.check_email(to)
        if not services.settings.smtp_host:
            raise InvalidInput("sending mail is not set up here", code="mail_not_configured")
        await env.rate_limit.hit(f"mail:{shopper_key(ident) or ident.user_id}")
        await services.runtime.jobs.enqueue(
            "send_chat_transcript",
            conversation.id,
            to,
            side.value,
            job_id=f"chat-transcript:{conversation.id}:{to}",
        )
        return Queued(queued=True, email=to)

    @post(
        "/conversations/{conversation_id:int}/attachments",
        status_code=201,
        request_max_body_size=None,  # the limit is ENGAGE_ATTACHMENT_MAX_BYTES, enforced while streaming
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        conversation_id: ConversationId,
        db_session: AsyncSession,
        services: Services,
        filename: Annotated[str, Parameter(min_length=1, max_length=200)],
        client_id: Annotated[str | None, Parameter(max_length=64)] = None,
        text: Annotated[str, Parameter(max_length=4000)] = "",
    ) -> Response[Ack]:
        """Send a file (the raw bytes as the body): an image (PNG, JPEG, GIF, WebP) or a PDF."""
        env = services.chat
        limit = env.limits.attachment_max_bytes
        too_large = InvalidInput(
            f"a file can be at most {limit // 1024} KiB", code="attachment_too_large", field="file"
        )
        if (request.content_length or 0) > limit:
            raise too_large
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        ack = await attachments.upload(
            db_session,
            env,
            identity_of(request),
            conversation_id,
            filename=filename,
            data=b"".join(chunks),
            text=text,
            client_id=client_id,
        )
        return Response(ack, status_code=200 if ack.duplicate else 201)

    @get("/attachments/{attachment_id:int}")
    async def attachment(
        self,
        request: Request[Any, Any, Any],
        attachment_id: Annotated[int, Parameter(gt=0, le=2**62)],
        db_session: AsyncSession,
        services: Services,
    ) -> Response[bytes]:
        """The file, for the conversation's shopper and its staff only."""
        found, data = await attachments.open_attachment(
            db_session, services.chat, identity_of(request), attachment_id
        )
        disposition = "inline" if attachments.is_image(found.content_type) else "attachment"
        return Response(
            data,
            media_type=found.content_type,
            headers={
                "Content-Disposition": f'{disposition}; filename="{found.filename}"',
                "Cache-Control": "private, max-age=3600",
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "X-Content-Type-Options": "nosniff",
            },
        )

    @post("/viewing", status_code=204)
    async def viewing(
        self, request: Request[Any, Any, Any], data: Viewing, db_session: AsyncSession, services: Services
    ) -> None:
        """The storefront reports the product page the shopper is on (their agent sees it)."""
        await context.report_viewing(
            db_session, services.chat, services.runtime.stores["cache"], identity_of(request), data.handle
        )
