"""Agents' availability (online / busy / offline), shown to other agents; only online agents get new chats.

The console repeats the agent's chosen availability as a heartbeat; an agent whose console has gone silent
for PRESENCE_TIMEOUT_SECONDS counts as offline (a closed laptop must not keep receiving conversations), and
a periodic job records that so other agents see it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from engage.auth import User
from engage.chat import events
from engage.chat.models import ACTIVE_STATUSES, AgentState, Availability, Conversation, Owner, TeamMember
from engage.chat.participants import is_staff
from engage.platform.clock import utcnow
from engage.platform.db import insert_for
from engage.platform.errors import PermissionDenied
from engage.platform.events import record
from engage.platform.identity import Identity, Role

# The console beats every 30 s; three missed beats (a closed laptop, a dead network) mean "gone".
PRESENCE_TIMEOUT_SECONDS = 90
# A heartbeat rewrites last_seen_at at most this often (the timeout is what matters, not precision).
_HEARTBEAT_WRITE_SECONDS = 15
SUPPORT_ROLES = (Role.agent.value, Role.admin.value)


class AgentView(msgspec.Struct):
    id: int
    name: str
    email: str
    role: str
    availability: str
    load: int
    capacity: int
    team_ids: list[int]


def effective(state: AgentState | None, now: datetime) -> Availability:
    if state is None or state.last_seen_at is None:
        return Availability.offline
    if now - state.last_seen_at > timedelta(seconds=PRESENCE_TIMEOUT_SECONDS):
        return Availability.offline
    return Availability(state.availability)


def present_since(now: datetime) -> datetime:
    return now - timedelta(seconds=PRESENCE_TIMEOUT_SECONDS)


async def _locked_state(session: AsyncSession, user_id: int) -> AgentState:
    insert = insert_for(session)
    await session.execute(insert(AgentState).values(user_id=user_id).on_conflict_do_nothing())
    state = await session.get(AgentState, user_id, with_for_update=True, populate_existing=True)
    assert state is not None
    return state


def _announce(session: AsyncSession, ident: Identity, availability: Availability) -> None:
    assert ident.user_id is not None
    record(
        session,
        events.AvailabilityChanged(
            agent_id=ident.user_id, name=ident.name or ident.email or "", availability=availability.value
        ),
        [events.AGENTS],
    )


async def set_availability(
    session: AsyncSession, ident: Identity, availability: Availability, *, capacity: int | None = None
) -> bool:
    """Record the agent's choice (also a heartbeat). True when the agent became available for new chats."""
    if not is_staff(ident) or ident.user_id is None:
        raise PermissionDenied("only support staff have an availability", code="staff_only")
    now = utcnow()
    state = await _locked_state(session, ident.user_id)
    before = effective(state, now)
    state.availability = availability.value
    state.last_seen_at = now
    if capacity is not None:
        state.capacity = capacity
    if before is not availability:
        _announce(session, ident, availability)
    await session.commit()
    return availability is Availability.online and (before is not Availability.online or capacity is not None)


async def heartbeat(session: AsyncSession, ident: Identity) -> None:
    """The console is still open: keep the agent's availability alive (a cheap write, at most every 15 s)."""
    if not is_staff(ident) or ident.user_id is None:
        return
    now = utcnow()
    await session.execute(
        update(AgentState)
        .where(
            AgentState.user_id == ident.user_id,
            AgentState.last_seen_at < now - timedelta(seconds=_HEARTBEAT_WRITE_SECONDS),
            AgentState.last_seen_at >= present_since(now),
        )
        .values(last_seen_at=now)
    )
    await session.commit()


async def expire_stale(session: AsyncSession) -> list[int]:
    """Agents whose console went silent become offline, visibly to other agents. Returns their ids."""
    now = utcnow()
    rows = (
        await session.execute(
            update(AgentState)
            .where(
                AgentState.availability != Availability.offline.value,
                AgentState.last_seen_at < present_since(now),
            )
            .values(availability=Availability.offline.value)
            .returning(AgentState.user_id)
        )
    ).all()
    ids = [row[0] for row in rows]
    if ids:
        users = (await session.execute(select(User.id, User.name, User.email).where(User.id.in_(ids)))).all()
        for user_id, name, email in users:
            _announce(session, Identity(user_id, Role.agent, None, email, name), Availability.offline)
    await session.commit()
    return ids


async def loads(session: AsyncSession) -> dict[int, int]:
    """Conversations each agent holds that count towards capacity."""
    rows = await session.execute(
        select(Conversation.assignee_id, func.count())
        .where(
            Conversation.owner == Owner.agent.value,
            Conversation.status.in_(ACTIVE_STATUSES),
            Conversation.assignee_id.is_not(None),
        )
        .group_by(Conversation.assignee_id)
    )
    return {int(agent_id): int(count) for agent_id, count in rows.all() if agent_id is not None}


async def list_agents(session: AsyncSession, default_capacity: int) -> list[AgentView]:
    """Every support agent with availability, load and capacity (what the console's agent list shows)."""
    now = utcnow()
    rows = (
        await session.execute(
            select(User, AgentState)
            .outerjoin(AgentState, AgentState.user_id == User.id)
            .where(and_(User.role.in_(SUPPORT_ROLES), User.is_active.is_(True)))
            .order_by(User.name, User.id)
        )
    ).all()
    load = await loads(session)
    teams: dict[int, list[int]] = {}
    for team_id, user_id in (await session.execute(select(TeamMember.team_id, TeamMember.user_id))).all():
        teams.setdefault(user_id, []).append(team_id)
    return [
        AgentView(
            id=user.id,
            name=user.name or user.email,
            email=user.email,
            role=user.role,
            availability=effective(state, now).value,
            load=load.get(user.id, 0),
            capacity=(state.capacity if state is not None and state.capacity else default_capacity),
            team_ids=sorted(teams.get(user.id, [])),
        )
        for user, state in rows
    ]
