"""Who handles a conversation: automatic round robin within capacity, manual assignment and transfer.

`dispatch` hands waiting conversations, oldest first, to online agents below their capacity, the least
recently assigned first (round robin), honouring teams. Dispatches serialise on one lock (a PostgreSQL
advisory lock; SQLite serialises writers anyway), so two nodes never over-fill an agent; every change to a
conversation also happens under its row lock and re-checks the state it expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from engage.auth import User
from engage.chat import timeline
from engage.chat.announcements import announce_state
from engage.chat.availability import SUPPORT_ROLES, loads, present_since
from engage.chat.env import ChatEnv
from engage.chat.models import AgentState, Availability, Conversation, Owner, Status, Team, TeamMember
from engage.chat.participants import access_as_staff
from engage.platform.clock import utcnow
from engage.platform.db import dialect_of
from engage.platform.errors import InvalidInput, NotFound
from engage.platform.identity import Identity, Role

# pg_advisory_xact_lock key of the dispatcher ("chat" in ASCII).
_DISPATCH_LOCK = 0x63686174
# Conversations looked at per dispatch; the rest wait for the next one (each resolve triggers another).
_DISPATCH_BATCH = 500
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class AgentRef:
    id: int
    name: str


async def _lock_dispatch(session: AsyncSession) -> None:
    if dialect_of(session) == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DISPATCH_LOCK})


async def give(session: AsyncSession, conversation: Conversation, agent: AgentRef) -> None:
    """Make `agent` the conversation's owner (it must be locked); the shopper sees who joined."""
    conversation.owner = Owner.agent.value
    conversation.assignee_id = agent.id
    conversation.assignee_name = agent.name
    if conversation.status == Status.pending.value:
        conversation.status = Status.open.value
    await timeline.add_event(session, conversation, f"{agent.name} joined the conversation")
    announce_state(session, conversation)


def agent_ref(ident: Identity) -> AgentRef:
    assert ident.user_id is not None
    return AgentRef(ident.user_id, ident.name or ident.email or "Agent")


async def dispatch(session: AsyncSession, env: ChatEnv) -> list[tuple[int, int]]:
    """Assign waiting conversations to available agents; commits. Returns (conversation id, agent id) pairs."""
    now = utcnow()
    await _lock_dispatch(session)
    waiting = (
        await session.execute(
            select(Conversation.id, Conversation.team_id)
            .where(
                Conversation.owner == Owner.queue.value,
                Conversation.status == Status.open.value,
                Conversation.waiting_since.is_not(None),
            )
            .order_by(Conversation.waiting_since, Conversation.id)
            .limit(_DISPATCH_BATCH)
        )
    ).all()
    if not waiting:
        await session.commit()
        return []
    agents = (
        await session.execute(
            select(AgentState, User.name, User.email)
            .join(User, User.id == AgentState.user_id)
            .where(
                AgentState.availability == Availability.online.value,
                AgentState.last_seen_at >= present_since(now),
                User.is_active.is_(True),
                User.role.in_(SUPPORT_ROLES),
            )
            .order_by(AgentState.user_id)
        )
    ).all()
    if not agents:
        await session.commit()
        return []
    load = await loads(session)
    teams: dict[int, set[int]] = {}
    member_rows = await session.execute(
        select(TeamMember.user_id, TeamMember.team_id).where(
            TeamMember.user_id.in_([state.user_id for state, _, _ in agents])
        )
    )
    for user_id, member_of in member_rows.all():
        teams.setdefault(user_id, set()).add(member_of)

    assigned: list[tuple[int, int]] = []
    for conversation_id, team_id in waiting:
        eligible = [
            (state, name or email)
            for state, name, email in agents
            if load.get(state.user_id, 0) < (state.capacity or env.limits.agent_capacity)
            and (team_id is None or team_id in teams.get(state.user_id, ()))
        ]
        if not eligible:
            continue
        state, name = min(eligible, key=lambda pair: (pair[0].last_assigned_at or _NEVER, pair[0].user_id))
        conversation = await timeline.lock_conversation(session, conversation_id)
        if conversation.owner != Owner.queue.value or conversation.status != Status.open.value:
            continue  # taken or closed since we looked
        await give(session, conversation, AgentRef(state.user_id, name))
        state.last_assigned_at = now
        load[state.user_id] = load.get(state.user_id, 0) + 1
        assigned.append((conversation_id, state.user_id))
    await session.commit()
    return assigned


async def _support_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None or not user.is_active or user.role not in SUPPORT_ROLES:
        raise InvalidInput("no such support agent", code="unknown_agent", field="agent_id")
    return user


async def _may_see(session: AsyncSession, user: User, conversation: Conversation) -> bool:
    if conversation.team_id is None or user.role == Role.admin.value:
        return True
    member = await session.scalar(
        select(TeamMember.user_id).where(
            TeamMember.team_id == conversation.team_id, TeamMember.user_id == user.id
        )
    )
    return member is not None


def _to_queue(conversation: Conversation) -> None:
    conversation.owner = Owner.queue.value
    conversation.assignee_id = None
    conversation.assignee_name = ""
    if conversation.status == Status.open.value and conversation.waiting_since is None:
        conversation.waiting_since = utcnow()


async def assign(
    session: AsyncSession, env: ChatEnv, actor: Identity, conversation_id: int, agent_id: int | None
) -> Conversation:
    """Assign (or take, or transfer) to `agent_id`, or unassign back to the queue with None. Commits.

    Manual assignment is an agent's decision and may exceed the assignee's capacity; dispatch never does.
    """
    conversation = await access_as_staff(session, actor, conversation_id, lock=True)
    previous = conversation.assignee_id if conversation.owner == Owner.agent.value else None
    actor_name = actor.name or actor.email or "an agent"
    if agent_id is None:
        if conversation.owner != Owner.agent.value:
            await session.commit()
            return conversation
        _to_queue(conversation)
        await timeline.add_event(session, conversation, f"Unassigned by {actor_name}", private=True)
        announce_state(session, conversation)
    else:
        if previous == agent_id:
            await session.commit()
            return conversation
        target = await _support_user(session, agent_id)
        if not await _may_see(session, target, conversation):
            raise InvalidInput(
                "that agent is not in this conversation's team", code="agent_not_in_team", field="agent_id"
            )
        if agent_id != actor.user_id or previous is not None:
            await timeline.add_event(
                session,
                conversation,
                f"Assigned to {target.name or target.email} by {actor_name}",
                private=True,
            )
        await give(session, conversation, AgentRef(target.id, target.name or target.email))
    await session.commit()
    if previous is not None or agent_id is None:
        await dispatch(session, env)
    return conversation


async def move_to_team(
    session: AsyncSession, env: ChatEnv, actor: Identity, conversation_id: int, team_id: int | None
) -> Conversation:
    """Transfer to another team's queue (None: the shared inbox). Commits, then dispatches."""
    conversation = await access_as_staff(session, actor, conversation_id, lock=True)
    if team_id is not None and await session.get(Team, team_id) is None:
        raise NotFound("no such team", code="team_not_found")
    if conversation.team_id == team_id:
        await session.commit()
        return conversation
    conversation.team_id = team_id
    _to_queue(conversation)
    team = await session.get(Team, team_id) if team_id is not None else None
    await timeline.add_event(
        session,
        conversation,
        f"Transferred to {team.name if team else 'the shared inbox'} by {actor.name or actor.email}",
        private=True,
    )
    announce_state(session, conversation)
    await session.commit()
    await dispatch(session, env)
    return conversation
