"""Chat's real-time channels and event types (the frames are documented in docs/protocol.md).

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

AGENTS = "agents"
CONVERSATION_KIND = "conversation"
STAFF_KIND = "conversation-staff"

# event types (the `type` of engage.platform.events.DomainEvent)
MESSAGE = "chat.message"  # {"conversation_id", "seq", "message": MessageView}
CONVERSATION = "chat.conversation"  # {"conversation_id", "status", "owner", "agent", "last_seq"}
TYPING = "chat.typing"  # {"conversation_id", "author", "name", "typing"}
RECEIPT = "chat.receipt"  # {"conversation_id", "side", "delivered_seq", "read_seq"}
CONTEXT = "chat.context"  # {"conversation_id", "viewing"}: staff channel
INBOX = "chat.inbox"  # {"conversation_id", "team_id", "status", "owner", "assignee_id", ...}: agents
AVAILABILITY = "chat.availability"  # {"agent_id", "name", "availability"}: agents
# No channel: for jobs (the bot area's sink enqueues the bot's reply job on it).
BOT_TURN = "chat.bot_turn"  # {"conversation_id", "message_id", "seq", "text", "owner_key", "user_id"}
CONVERSATION_STARTED = "chat.conversation_started"  # {"conversation_id", "owner", "owner_key", "user_id"}
HANDOFF = "chat.handoff"  # {"conversation_id", "by", "reason"}
RESOLVED = "chat.resolved"  # {"conversation_id", "assignee_id"}


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
