"""Chat's events and the real-time channels they travel on (the frames are documented in docs/protocol.md).

- `conversation:{id}`: the conversation's shopper (and staff who may see it). Only what the shopper may see
  travels here, numbered by the conversation's *public* sequence (gap-free: private items take no number
  here), so the shopper's stream reveals nothing about notes.
- `conversation-staff:{id}`: staff who may see the conversation: every item, numbered by the conversation's
  sequence; private notes and events, the shopper's live context.
- `agents`: staff only: inbox changes and agent availability. It carries ids and states, never message text;
  the console fetches what it shows over HTTP, where team visibility applies.

Both conversation channels are numbered by the chat database (the hub's `sequencing="domain"`): a frame's
`data.seq` is the stored sequence, and resume replays from the database. Frames without `data.seq` (state,
typing, receipts, context) are live hints; a client refetches the conversation after every (re)subscribe.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import msgspec

from engage.chat.models import Author
from engage.chat.views import MessageView
from engage.platform.events import DomainEvent, Event

AGENTS = "agents"
CONVERSATION_KIND = "conversation"
STAFF_KIND = "conversation-staff"


class Viewing(msgspec.Struct):
    """The product page a shopper has open (the storefront reports it)."""

    handle: str
    name: str
    url: str
    since: datetime


class AgentRef(msgspec.Struct, frozen=True):
    id: int
    name: str | None


class MessagePosted(Event):
    """A stored item (message, note, system line), numbered on its channel by `seq`. On the staff channel,
    `waiting_since` when the message started or stopped the first-response clock (None: stopped)."""

    type: ClassVar[str] = "chat.message"
    conversation_id: int
    seq: int
    message: MessageView
    waiting_since: str | msgspec.UnsetType | None = msgspec.UNSET


class ConversationState(Event):
    """What the shopper may see of a conversation's state (a live hint: clients refetch on subscribe)."""

    type: ClassVar[str] = "chat.conversation"
    conversation_id: int
    status: str
    owner: str
    agent: AgentRef | None
    last_seq: int


class StaffConversationState(ConversationState):
    """The same event on the staff channel: the first-response clock and the owner too."""

    team_id: int | None
    assignee_id: int | None
    waiting_since: str | None


class Typing(Event):
    type: ClassVar[str] = "chat.typing"
    conversation_id: int
    author: str
    name: str
    typing: bool


class Receipt(Event):
    type: ClassVar[str] = "chat.receipt"
    conversation_id: int
    side: str
    delivered_seq: int
    read_seq: int


class ContextChanged(Event):
    """Staff channel: the shopper opened another product page."""

    type: ClassVar[str] = "chat.context"
    conversation_id: int
    viewing: Viewing


class InboxChanged(Event):
    """`agents`: ids and states only; the console fetches what it shows through team-checked HTTP."""

    type: ClassVar[str] = "chat.inbox"
    conversation_id: int
    team_id: int | None
    status: str
    owner: str
    assignee_id: int | None
    waiting_since: str | None


class AvailabilityChanged(Event):
    type: ClassVar[str] = "chat.availability"
    agent_id: int
    name: str
    availability: str


# No channel: for jobs.
class BotTurn(Event):
    """The shopper spoke in a bot-owned conversation (the bot area's sink enqueues its reply job)."""

    type: ClassVar[str] = "chat.bot_turn"
    conversation_id: int
    message_id: int
    seq: int
    text: str
    owner_key: str
    user_id: int | None


class ConversationStarted(Event):
    type: ClassVar[str] = "chat.conversation_started"
    conversation_id: int
    owner: str
    owner_key: str
    user_id: int | None


class HandedOff(Event):
    type: ClassVar[str] = "chat.handoff"
    conversation_id: int
    by: str  # "bot" or "shopper"
    reason: str


class Resolved(Event):
    type: ClassVar[str] = "chat.resolved"
    conversation_id: int
    assignee_id: int | None


def agents_key(event: str, data: dict[str, Any]) -> str:
    """`agents` is a `latest` channel: inbox hints only say "refetch the inbox", so one key serves them all (a
    busy shop's hundreds a second reach each console as a few); availability is per agent."""
    return f"{event}:{data['agent_id']}" if event == AvailabilityChanged.type else event


MESSAGE = MessagePosted.type
CONVERSATION = ConversationState.type
TYPING = Typing.type
RECEIPT = Receipt.type
CONTEXT = ContextChanged.type
INBOX = InboxChanged.type
AVAILABILITY = AvailabilityChanged.type
BOT_TURN = BotTurn.type
CONVERSATION_STARTED = ConversationStarted.type
HANDOFF = HandedOff.type
RESOLVED = Resolved.type


def conversation_channel(conversation_id: int) -> str:
    return f"{CONVERSATION_KIND}:{conversation_id}"


def staff_channel(conversation_id: int) -> str:
    return f"{STAFF_KIND}:{conversation_id}"


def conversation_of(channel: str) -> int | None:
    """`conversation:12` or `conversation-staff:12` -> 12; anything else -> None."""
    kind, _, ident = channel.partition(":")
    if kind not in (CONVERSATION_KIND, STAFF_KIND) or not ident.isdigit() or len(ident) > 18:
        return None
    return int(ident)


def agent_reply(event: DomainEvent) -> tuple[int, dict[str, Any]] | None:
    """(conversation id, message) of an agent's public reply as the shopper's channel carries it (the staff
    channel's copy, notes included, is not it); None for any other event."""
    if event.type != MESSAGE:
        return None
    conversation_id = int(event.data["conversation_id"])
    message: dict[str, Any] = event.data["message"]
    if conversation_channel(conversation_id) not in event.channels:
        return None
    if message.get("author") != Author.agent.value or message.get("private"):
        return None
    return conversation_id, message
