"""State changes of a conversation, announced to its shopper (shopper-safe fields) and to the agents' inbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from engage.chat import channels
from engage.chat.models import Conversation
from engage.platform.events import record_untyped as record


def agent_of(conversation: Conversation) -> dict[str, Any] | None:
    if conversation.assignee_id is None or conversation.owner != "agent":
        return None
    return {"id": conversation.assignee_id, "name": conversation.assignee_name}


def shopper_state(conversation: Conversation) -> dict[str, Any]:
    return {
        "conversation_id": conversation.id,
        "status": conversation.status,
        "owner": conversation.owner,
        "agent": agent_of(conversation),
        "last_seq": conversation.last_public_seq,
    }


def inbox_state(conversation: Conversation) -> dict[str, Any]:
    """Ids and states only: the console fetches anything it shows through team-checked HTTP."""
    return {
        "conversation_id": conversation.id,
        "team_id": conversation.team_id,
        "status": conversation.status,
        "owner": conversation.owner,
        "assignee_id": conversation.assignee_id,
        "waiting_since": conversation.waiting_since.isoformat() if conversation.waiting_since else None,
    }


def announce_state(session: AsyncSession, conversation: Conversation) -> None:
    """Live hints (not numbered): clients refetch the conversation when they (re)subscribe anyway."""
    record(
        session,
        channels.CONVERSATION,
        shopper_state(conversation),
        [channels.conversation_channel(conversation.id)],
    )
    announce_waiting(session, conversation)


def announce_waiting(session: AsyncSession, conversation: Conversation) -> None:
    """Staff-only state (the first-response clock started or stopped): the shopper's view is unchanged."""
    staff = inbox_state(conversation) | {"agent": agent_of(conversation), "last_seq": conversation.last_seq}
    record(session, channels.CONVERSATION, staff, [channels.staff_channel(conversation.id)])
    record(session, channels.INBOX, inbox_state(conversation), [channels.AGENTS])
