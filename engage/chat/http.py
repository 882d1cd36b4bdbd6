"""Chat's HTTP door: parse, authorise, call the chat domain, shape the answer.

Shopper and participant routes use the `shopper` guard (anyone with a session or sign-in) and the domain
checks that the conversation is theirs; console routes need the agent role (admins pass every role check).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from engage.chat import (
    assignment,
    attachments,
    availability,
    canned,
    context,
    conversations,
    csat,
    inbox,
    labels,
    messages,
    teams,
    transcripts,
)
from engage.chat.indicators import typing
from engage.chat.models import Author, Availability, Status
from engage.chat.participants import Side, access_conversation, shopper_key
from engage.chat.views import Ack, MessageView, ShopperConversationView, StaffConversationView
from engage.http.guards import admin, agent, identity_of, shopper
from engage.http.params import Id, OptionalId
from engage.platform.clock import as_utc, utcnow
from engage.platform.db import BIGINT_MAX
from engage.platform.errors import InvalidInput
from engage.services import Services

ConversationId = Annotated[int, Parameter(gt=0, le=2**62, description="conversation id")]
ClientId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Text = Annotated[str, msgspec.Meta(max_length=100_000)]
Label = Annotated[str, msgspec.Meta(max_length=40)]


# ---- payloads ---------------------------------------------------------------------------------------------


class StartChat(msgspec.Struct, forbid_unknown_fields=True):
    text: Text | None = None
    client_id: ClientId | None = None
    team: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    human: bool = False


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


class AssignTo(msgspec.Struct, forbid_unknown_fields=True):
    agent_id: int | None


class TeamTransfer(msgspec.Struct, forbid_unknown_fields=True):
    team_id: int | None


class LabelChange(msgspec.Struct, forbid_unknown_fields=True):
    add: list[Label] = []
    remove: list[Label] = []


class Labels(msgspec.Struct):
    labels: list[str]


class LabelCount(msgspec.Struct):
    label: str
    conversations: int


class AvailabilityIn(msgspec.Struct, forbid_unknown_fields=True):
    availability: Availability
    capacity: Annotated[int, msgspec.Meta(ge=1, le=100)] | None = None


class CannedIn(msgspec.Struct, forbid_unknown_fields=True):
    shortcut: Annotated[str, msgspec.Meta(max_length=41)]
    body: Annotated[str, msgspec.Meta(max_length=4000)]


class TeamIn(msgspec.Struct, forbid_unknown_fields=True):
    slug: Annotated[str, msgspec.Meta(max_length=64)]
    name: Annotated[str, msgspec.Meta(max_length=120)] = ""
    is_default: bool = False


class TeamOut(msgspec.Struct):
    id: int
    slug: str
    name: str
    is_default: bool


# ---- shopper and participant routes ------------------------------------------------------------------------


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


# ---- agent console routes ----------------------------------------------------------------------------------


class ConsoleController(Controller):
    path = "/api/chat"
    tags = ["chat console"]
    guards = [agent]

    @get("/inbox")
    async def inbox_view(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        services: Services,
        view: inbox.View = inbox.View.all,
        status: inbox.StatusFilter = inbox.StatusFilter.open,
        label: Annotated[str | None, Parameter(max_length=40)] = None,
        team_id: OptionalId = None,
        cursor: Annotated[str | None, Parameter(max_length=80)] = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 50,
    ) -> inbox.InboxPage:
        """Unassigned (oldest waiting first), mine, the bot's, or all, by status; SLA breaches flagged."""
        return await inbox.list_inbox(
            db_session,
            identity_of(request),
            view,
            status=status,
            label=label,
            team_id=team_id,
            cursor=cursor,
            limit=limit,
            sla_seconds=services.chat.limits.first_response_seconds,
        )

    @get("/inbox/counts")
    async def counts(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, services: Services
    ) -> inbox.Counts:
        return await inbox.counts(
            db_session, identity_of(request), sla_seconds=services.chat.limits.first_response_seconds
        )

    @get("/search")
    async def search(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        services: Services,
        q: Annotated[str, Parameter(min_length=1, max_length=200)],
    ) -> list[inbox.SearchHit]:
        """Conversations whose contact, label or messages (notes too) contain `q`."""
        return await inbox.search(
            db_session, identity_of(request), q, sla_seconds=services.chat.limits.first_response_seconds
        )

    @post("/conversations/{conversation_id:int}/assign", status_code=200)
    async def assign(
        self,
        request: Request[Any, Any, Any],
        conversation_id: ConversationId,
        data: AssignTo,
        db_session: AsyncSession,
        services: Services,
    ) -> StaffConversationView:
        """Assign or transfer to an agent (may exceed capacity), or back to the queue with null."""
        conversation = await assignment.assign(
            db_session, services.chat, identity_of(request), conversation_id, data.agent_id
        )
        return await self._staff_view(db_session, services, conversation)

    @post("/conversations/{conversation_id:int}/take", status_code=200)
    async def take(
        self,
        request: Request[Any, Any, Any],
        conversation_id: ConversationId,
        db_session: AsyncSession,
        services: Services,
    ) -> StaffConversationView:
        """Take the conversation (from the queue, the bot or a colleague)."""
        ident = identity_of(request)
        conversation = await assignment.assign(
            db_session, services.chat, ident, conversation_id, ident.user_id
        )
        return await self._staff_view(db_session, services, conversation)

    @post("/conversations/{conversation_id:int}/team", status_code=200)
    async def transfer_team(
        self,
        request: Request[Any, Any, Any],
        conversation_id: ConversationId,
        data: TeamTransfer,
        db_session: AsyncSession,
        services: Services,
    ) -> StaffConversationView:
        """Transfer to another team's queue (null: the shared inbox)."""
        conversation = await assignment.move_to_team(
            db_session, services.chat, identity_of(request), conversation_id, data.team_id
        )
        return await self._staff_view(db_session, services, conversation)

    @post("/conversations/{conversation_id:int}/labels", status_code=200)
    async def change_labels(
        self,
        request: Request[Any, Any, Any],
        conversation_id: ConversationId,
        data: LabelChange,
        db_session: AsyncSession,
    ) -> Labels:
        result = await labels.change_labels(
            db_session, identity_of(request), conversation_id, add=data.add, remove=data.remove
        )
        return Labels(labels=result)

    @get("/conversations/{conversation_id:int}/context")
    async def shopper_context(
        self,
        request: Request[Any, Any, Any],
        conversation_id: ConversationId,
        db_session: AsyncSession,
        services: Services,
    ) -> context.ShopperContext:
        """The shopper's live context: contact, product being viewed, cart, orders, flash sales."""
        return await context.shopper_context(
            db_session,
            services.runtime.stores["cache"],
            identity_of(request),
            conversation_id,
            services.context_sections,
        )

    @get("/labels")
    async def known_labels(self, db_session: AsyncSession) -> list[LabelCount]:
        return [LabelCount(label=name, conversations=n) for name, n in await labels.known_labels(db_session)]

    @get("/agents")
    async def agents(self, db_session: AsyncSession, services: Services) -> list[availability.AgentView]:
        """Every support agent with availability, load and capacity."""
        return await availability.list_agents(db_session, services.chat.limits.agent_capacity)

    @put("/agents/me")
    async def set_availability(
        self,
        request: Request[Any, Any, Any],
        data: AvailabilityIn,
        db_session: AsyncSession,
        services: Services,
    ) -> availability.AgentView:
        """Online / busy / offline (also a heartbeat); going online may bring waiting conversations."""
        ident = identity_of(request)
        env = services.chat
        if await availability.set_availability(db_session, ident, data.availability, capacity=data.capacity):
            await assignment.dispatch(db_session, env)
        return next(
            a
            for a in await availability.list_agents(db_session, env.limits.agent_capacity)
            if a.id == ident.user_id
        )

    @post("/agents/me/heartbeat", status_code=204)
    async def heartbeat(self, request: Request[Any, Any, Any], db_session: AsyncSession) -> None:
        """The console is open (every 30 s); an agent silent for 90 s counts as offline."""
        await availability.heartbeat(db_session, identity_of(request))

    @get("/canned")
    async def list_canned(
        self, db_session: AsyncSession, prefix: Annotated[str, Parameter(max_length=41)] = ""
    ) -> list[canned.CannedView]:
        """Canned responses, optionally those whose shortcut starts with `prefix`."""
        return await canned.list_canned(db_session, prefix)

    @post("/canned", status_code=201)
    async def create_canned(
        self, request: Request[Any, Any, Any], data: CannedIn, db_session: AsyncSession
    ) -> canned.CannedView:
        return await canned.save_canned(
            db_session, identity_of(request), shortcut=data.shortcut, body=data.body
        )

    @put("/canned/{canned_id:int}")
    async def update_canned(
        self, request: Request[Any, Any, Any], canned_id: Id, data: CannedIn, db_session: AsyncSession
    ) -> canned.CannedView:
        return await canned.save_canned(
            db_session, identity_of(request), shortcut=data.shortcut, body=data.body, canned_id=canned_id
        )

    @delete("/canned/{canned_id:int}", status_code=204)
    async def delete_canned(self, canned_id: Id, db_session: AsyncSession) -> None:
        await canned.delete_canned(db_session, canned_id)

    @get("/csat")
    async def csat_summary(
        self,
        db_session: AsyncSession,
        days: Annotated[int, Parameter(ge=1, le=3650)] = 30,
        agent_id: OptionalId = None,
    ) -> csat.CsatSummary:
        """CSAT over the last `days` (optionally one agent's)."""
        return await csat.summary(db_session, since=utcnow() - timedelta(days=days), agent_id=agent_id)

    async def _staff_view(
        self, session: AsyncSession, services: Services, conversation: Any
    ) -> StaffConversationView:
        view = await inbox.describe(session, services.chat, conversation, Side.staff)
        assert isinstance(view, StaffConversationView)
        return view


class TeamController(Controller):
    """Teams: agents list them (to transfer); admins create them and set members."""

    path = "/api/chat/teams"
    tags = ["chat console"]
    guards = [agent]

    @get("/")
    async def list_teams(self, db_session: AsyncSession) -> list[teams.TeamView]:
        return await teams.list_teams(db_session)

    @post("/", status_code=201, guards=[admin])
    async def create(self, data: TeamIn, db_session: AsyncSession) -> TeamOut:
        team = await teams.create_team(db_session, slug=data.slug, name=data.name, is_default=data.is_default)
        return TeamOut(id=team.id, slug=team.slug, name=team.name, is_default=team.is_default)

    @put("/{team_id:int}/members/{user_id:int}", status_code=204, guards=[admin])
    async def add_member(self, team_id: Id, user_id: Id, db_session: AsyncSession) -> None:
        await teams.set_member(db_session, team_id, user_id, member=True)

    @delete("/{team_id:int}/members/{user_id:int}", status_code=204, guards=[admin])
    async def remove_member(self, team_id: Id, user_id: Id, db_session: AsyncSession) -> None:
        await teams.set_member(db_session, team_id, user_id, member=False)


chat_routes = [ConversationController, ConsoleController, TeamController]
