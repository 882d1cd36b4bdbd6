"""When nobody of the team is online: the widget says so (office hours, the expected wait), the shopper may
leave an email, and an agent's later reply that no open widget received goes to that email. A conversation
no person answered is not rated."""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.chat import availability
from engage.chat.models import Author, Conversation, Message, Owner, Status
from engage.config import Settings
from engage.platform.clock import utcnow
from engage.platform.errors import Conflict
from engage.platform.mail import mail_configured, send_mail

# minutes a person takes per waiting conversation, for the expected wait shown to shoppers
MINUTES_PER_CONVERSATION = 4


class SupportStatus(msgspec.Struct):
    agents_online: int
    waiting: int  # conversations waiting for a person
    expected_wait_minutes: int | None  # None: nobody online to answer now
    office_hours: str
    can_leave_email: bool


async def support_status(
    session: AsyncSession, settings: Settings, now: datetime | None = None
) -> SupportStatus:
    now = now or utcnow()
    agents = await availability.list_agents(session, settings.chat_agent_capacity)
    online = sum(1 for a in agents if a.availability == "online")
    waiting = int(
        await session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(Conversation.owner == Owner.queue.value, Conversation.status == Status.open.value)
        )
        or 0
    )
    wait = None if online == 0 else max(1, round((waiting + 1) * MINUTES_PER_CONVERSATION / online))
    return SupportStatus(online, waiting, wait, settings.chat_office_hours, mail_configured(settings))


async def leave_email(session: AsyncSession, conversation: Conversation, email: str) -> None:
    conversation.reply_email = email.strip().lower()[:254]
    await session.commit()


async def answered_by_a_person(session: AsyncSession, conversation_id: int) -> bool:
    first = await session.scalar(
        select(Message.id)
        .where(
            Message.conversation_id == conversation_id,
            Message.author == Author.agent.value,
            Message.private.is_(False),
        )
        .limit(1)
    )
    return first is not None


async def check_can_be_rated(session: AsyncSession, conversation_id: int) -> None:
    if not await answered_by_a_person(session, conversation_id):
        raise Conflict("nobody of our team answered this conversation", code="not_answered")


async def email_unseen_reply(
    session: AsyncSession,
    settings: Settings,
    *,
    conversation_id: int,
    public_seq: int,
    author_name: str,
    text: str,
) -> bool:
    """Mail an agent's reply to the email the shopper left, unless an open widget received it. True if sent."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or not conversation.reply_email or not mail_configured(settings):
        return False
    if max(conversation.shopper_delivered_seq, conversation.shopper_read_seq) >= public_seq:
        return False
    link = f"{settings.public_url}/?chat={conversation_id}" if settings.public_url else "our shop's chat"
    await send_mail(
        settings,
        to=conversation.reply_email,
        subject=f"{author_name or 'Our team'} answered you",
        text=f"{author_name or 'Our team'} wrote:\n\n{text}\n\nReply in the chat: {link}\n",
    )
    return True
