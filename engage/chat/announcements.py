"""State changes of a conversation, announced to its shopper (shopper-safe fields) and to the agents' inbox."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from engage.chat import events
from engage.chat.models import Conversation
from engage.platform.events import record


def agent_of(conversation: Conversation) -> events.AgentRef | None:
    if conversation.assignee_id is None or conversation.owner != "agent":
        return None
    return events.AgentRef(conversation.assignee_id, conversation.assignee_name)


def _waiting_since(conversation: Conversation) -> str | None:
    return conversation.waiting_since.isoformat() if conversation.waiting_since else None


def announce_state(session: AsyncSession, conversation: Conversation) -> None:
    """Live hints (not numbered): clients refetch the conversation when they (re)subscribe anyway."""
    shopper = events.ConversationState(
        conversation_id=conversation.id,
        status=conversation.status,
        owner=conversation.owner,
        agent=agent_of(conversation),
        last_seq=conversation.last_public_seq,
    )
    record(session, shopper, [events.conversation_channel(conversation.id)])
    announce_waiting(session, conversation)


def announce_waiting(session: AsyncSession, conversation: Conversation) -> None:
    """Staff-only state (the first-response clock started or stopped): the shopper's view is unchanged."""
    staff = events.StaffConversationState(
        conversation_id=conversation.id,
        status=conversation.status,
        owner=conversation.owner,
        agent=agent_of(conversation),
        last_seq=conversation.last_seq,
        team_id=conversation.team_id,
        assignee_id=conversation.assignee_id,
        waiting_since=_waiting_since(conversation),
    )
    inbox = events.InboxChanged(
        conversation_id=conversation.id,
        team_id=conversation.team_id,
        status=conversation.status,
        owner=conversation.owner,
        assignee_id=conversation.assignee_id,
        waiting_since=_waiting_since(conversation),
    )
    record(session, staff, [events.staff_channel(conversation.id)])
    record(session, inbox, [events.AGENTS])
