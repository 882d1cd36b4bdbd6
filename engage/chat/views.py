"""What each audience sees of a conversation: the shopper's view never holds private items or staff fields."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import msgspec

from engage.chat.models import Attachment, Conversation
from engage.chat.participants import Side
from engage.platform.clock import utcnow


class AttachmentView(msgspec.Struct):
    id: int
    filename: str
    content_type: str
    size: int
    url: str


class MessageView(msgspec.Struct):
    """`seq` is in the viewer's sequence: the conversation's for staff, the public one for the shopper.
    `public_seq` is the public sequence (None for private items; receipts count in it)."""

    id: int
    conversation_id: int
    seq: int
    public_seq: int | None
    kind: str
    private: bool
    author: str
    author_name: str
    text: str
    client_id: str
    created_at: datetime
    attachment: AttachmentView | None = None
    meta: dict[str, Any] = {}


class Ack(msgspec.Struct):
    """The answer to a send: the stored id and sequence, in the sender's sequence (and whether it was a
    re-send of a stored message)."""

    conversation_id: int
    id: int
    seq: int
    client_id: str
    created_at: datetime
    duplicate: bool = False


class AgentRef(msgspec.Struct):
    id: int
    name: str


class ShopperConversationView(msgspec.Struct):
    id: int
    status: str
    owner: str
    agent: AgentRef | None
    last_seq: int
    created_at: datetime
    agent_delivered_seq: int
    agent_read_seq: int
    rating: int | None = None


class StaffConversationView(msgspec.Struct):
    id: int
    status: str
    owner: str
    assignee: AgentRef | None
    team_id: int | None
    contact_name: str
    contact_email: str
    is_guest: bool
    labels: list[str]
    last_seq: int
    last_public_seq: int
    last_preview: str
    last_activity_at: datetime
    created_at: datetime
    waiting_since: datetime | None
    sla_breached: bool
    first_response_at: datetime | None
    snoozed_until: datetime | None
    handoff_reason: str
    shopper_delivered_seq: int
    shopper_read_seq: int
    agent_delivered_seq: int
    agent_read_seq: int
    rating: int | None = None
    rating_comment: str = ""


def attachment_url(attachment_id: int) -> str:
    return f"/api/chat/attachments/{attachment_id}"


class StoredItem(Protocol):
    """What a view of a stored item reads: a `Message` row, or the fields a write returned."""

    @property
    def id(self) -> int: ...
    @property
    def conversation_id(self) -> int: ...
    @property
    def seq(self) -> int: ...
    @property
    def public_seq(self) -> int | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def private(self) -> bool: ...
    @property
    def author(self) -> str: ...
    @property
    def author_name(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def meta(self) -> dict[str, Any] | None: ...


def message_view(message: StoredItem, attachment: Attachment | None, side: Side) -> MessageView:
    seq = message.seq if side is Side.staff else message.public_seq
    if seq is None:
        raise ValueError("a private item has no shopper view")
    return MessageView(
        id=message.id,
        conversation_id=message.conversation_id,
        seq=seq,
        public_seq=message.public_seq,
        kind=message.kind,
        private=message.private,
        author=message.author,
        author_name=message.author_name,
        text=message.body,
        client_id=message.client_id,
        created_at=message.created_at,
        attachment=AttachmentView(
            id=attachment.id,
            filename=attachment.filename,
            content_type=attachment.content_type,
            size=attachment.size,
            url=attachment_url(attachment.id),
        )
        if attachment is not None
        else None,
        meta=message.meta or {},
    )


def shopper_view(
    conversation: Conversation, agent: AgentRef | None, rating: int | None
) -> ShopperConversationView:
    return ShopperConversationView(
        id=conversation.id,
        status=conversation.status,
        owner=conversation.owner,
        agent=agent,
        last_seq=conversation.last_public_seq,
        created_at=conversation.created_at,
        agent_delivered_seq=max(conversation.agent_delivered_seq, conversation.agent_read_seq),
        agent_read_seq=conversation.agent_read_seq,
        rating=rating,
    )


def sla_breached(conversation: Conversation, target_seconds: int, now: datetime | None = None) -> bool:
    if conversation.waiting_since is None or conversation.status != "open":
        return False
    return ((now or utcnow()) - conversation.waiting_since).total_seconds() > target_seconds


def staff_view(
    conversation: Conversation,
    *,
    assignee: AgentRef | None,
    labels: list[str],
    rating: tuple[int, str] | None,
    sla_seconds: int,
    now: datetime | None = None,
) -> StaffConversationView:
    return StaffConversationView(
        id=conversation.id,
        status=conversation.status,
        owner=conversation.owner,
        assignee=assignee,
        team_id=conversation.team_id,
        contact_name=conversation.contact_name,
        contact_email=conversation.contact_email,
        is_guest=conversation.user_id is None,
        labels=labels,
        last_seq=conversation.last_seq,
        last_public_seq=conversation.last_public_seq,
        last_preview=conversation.last_preview,
        last_activity_at=conversation.last_activity_at,
        created_at=conversation.created_at,
        waiting_since=conversation.waiting_since,
        sla_breached=sla_breached(conversation, sla_seconds, now),
        first_response_at=conversation.first_response_at,
        snoozed_until=conversation.snoozed_until,
        handoff_reason=conversation.handoff_reason,
        shopper_delivered_seq=conversation.shopper_delivered_seq,
        shopper_read_seq=conversation.shopper_read_seq,
        agent_delivered_seq=conversation.agent_delivered_seq,
        agent_read_seq=conversation.agent_read_seq,
        rating=rating[0] if rating else None,
        rating_comment=rating[1] if rating else "",
    )


def to_builtins(view: msgspec.Struct) -> dict[str, Any]:
    """A view as JSON-ready builtins (event payloads travel as plain dicts)."""
    payload: dict[str, Any] = msgspec.to_builtins(view)  # a struct becomes a dict
    return payload
