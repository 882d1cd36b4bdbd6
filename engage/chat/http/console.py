"""Chat's agent console door: inbox, search, assignment, teams, labels, context, availability, canned
responses, CSAT figures. Agents (admins pass every role check)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from engage.chat import (
    assignment,
    availability,
    canned,
    context,
    csat,
    inbox,
    labels,
)
from engage.chat.http.conversations import ConversationId
from engage.chat.models import Availability
from engage.chat.participants import Side
from engage.chat.views import StaffConversationView
from engage.http.guards import agent, identity_of
from engage.http.params import Id, OptionalId
from engage.platform.clock import utcnow
from engage.services import Services

Label = Annotated[str, msgspec.Meta(max_length=40)]


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
