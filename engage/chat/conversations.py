"""A conversation's life: start, states (open / pending / snoozed until / resolved), handoff to a human,
and following a guest into their account at sign-in.

Every function that changes a conversation takes its row lock, commits, and lets its events leave after the
commit; anything that may free or need an agent runs a dispatch afterwards.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from engage.chat import assignment, events, timeline
from engage.chat.announcements import announce_state
from engage.chat.env import ChatEnv
from engage.chat.models import Conversation, Owner, Status, Team
from engage.chat.participants import Side, access_conversation, shopper_key
from engage.chat.text import clean_text
from engage.platform.clock import utcnow
from engage.platform.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from engage.platform.events import record
from engage.platform.identity import Identity

UNRESOLVED = (Status.open.value, Status.pending.value, Status.snoozed.value)
HANDOFF_REASON_CHARS = 300


async def current_of(session: AsyncSession, owner_key: str) -> Conversation | None:
    """The shopper's unresolved conversation, if any (there is at most one)."""
    return await session.scalar(
        select(Conversation).where(Conversation.owner_key == owner_key, Conversation.status.in_(UNRESOLVED))
    )


async def list_for_shopper(session: AsyncSession, ident: Identity, *, limit: int = 50) -> list[Conversation]:
    key = shopper_key(ident)
    if key is None:
        return []
    rows = await session.scalars(
        select(Conversation)
        .where(Conversation.owner_key == key)
        .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
        .limit(limit)
    )
    return list(rows.all())


async def _team_for(session: AsyncSession, slug: str | None) -> int | None:
    if slug:
        team_id = await session.scalar(select(Team.id).where(Team.slug == slug))
        if team_id is None:
            raise InvalidInput("no such team", code="unknown_team", field="team")
        return team_id
    return await session.scalar(select(Team.id).where(Team.is_default.is_(True)).limit(1))


async def start(
    session: AsyncSession, env: ChatEnv, ident: Identity, *, team: str | None = None, human: bool = False
) -> tuple[Conversation, bool]:
    """The shopper's open conversation, or a new one (bot-owned when a bot is registered, unless `human`).

    Returns (conversation, created). Two tabs starting at once get the same conversation.
    """
    key = shopper_key(ident)
    if key is None:
        raise NotAuthenticated("a session is needed to chat", code="no_session")
    existing = await current_of(session, key)
    if existing is not None:
        return existing, False
    with_bot = env.bot is not None and not human
    conversation = Conversation(
        owner_key=key,
        user_id=ident.user_id,
        contact_name=ident.name or "",
        contact_email=ident.email or "",
        team_id=await _team_for(session, team),
        status=Status.pending.value if with_bot else Status.open.value,
        owner=Owner.bot.value if with_bot else Owner.queue.value,
        last_activity_at=utcnow(),
    )
    session.add(conversation)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()  # another tab won the race: theirs is ours
        existing = await current_of(session, key)
        if existing is None:
            raise
        return existing, False
    record(
        session,
        events.ConversationStarted(
            conversation_id=conversation.id, owner=conversation.owner, owner_key=key, user_id=ident.user_id
        ),
    )
    announce_state(session, conversation)
    await session.commit()
    return conversation, True


async def set_status(
    session: AsyncSession,
    env: ChatEnv,
    ident: Identity,
    conversation_id: int,
    status: Status,
    *,
    snoozed_until: datetime | None = None,
) -> Conversation:
    """Staff move a conversation between states; a shopper may only end (resolve) their own. Commits."""
    conversation, side = await access_conversation(session, ident, conversation_id, lock=True)
    if side is Side.shopper and status is not Status.resolved:
        raise InvalidInput("a shopper can only end a conversation", code="shopper_can_only_end")
    if status is Status.snoozed:
        if snoozed_until is None or snoozed_until <= utcnow():
            raise InvalidInput("snooze until a time in the future", code="bad_snooze", field="snoozed_until")
    if conversation.status == status.value and (
        status is not Status.snoozed or conversation.snoozed_until == snoozed_until
    ):
        await session.commit()
        return conversation
    frees_agent = conversation.owner == Owner.agent.value and status in (Status.resolved, Status.snoozed)
    who = "the shopper" if side is Side.shopper else (ident.name or ident.email or "an agent")
    await _apply_status(session, conversation, status, snoozed_until=snoozed_until, by=who)
    await session.commit()
    if frees_agent or (status is Status.open and conversation.owner == Owner.queue.value):
        await assignment.dispatch(session, env)
    return conversation


async def _apply_status(
    session: AsyncSession,
    conversation: Conversation,
    status: Status,
    *,
    snoozed_until: datetime | None = None,
    by: str,
) -> None:
    now = utcnow()
    conversation.status = status.value
    conversation.snoozed_until = snoozed_until if status is Status.snoozed else None
    if status is Status.resolved:
        conversation.resolved_at = now
        conversation.waiting_since = None
        await timeline.add_event(session, conversation, f"Conversation ended by {by}")
        record(
            session, events.Resolved(conversation_id=conversation.id, assignee_id=conversation.assignee_id)
        )
    elif status is Status.snoozed:
        await timeline.add_event(
            session, conversation, f"Snoozed by {by} until {snoozed_until:%Y-%m-%d %H:%M} UTC", private=True
        )
    else:
        if status is Status.open and conversation.owner == Owner.queue.value:
            conversation.waiting_since = conversation.waiting_since or now
        await timeline.add_event(session, conversation, f"Marked {status.value} by {by}", private=True)
    announce_state(session, conversation)


async def reopen_for_shopper(session: AsyncSession, conversation: Conversation) -> bool:
    """The shopper wrote into a snoozed or resolved conversation (locked): it needs attention again.

    A snoozed one wakes with its owner; a resolved one goes back to the queue. True when it needs a dispatch.
    """
    if conversation.status == Status.snoozed.value:
        conversation.status = Status.open.value
        conversation.snoozed_until = None
        await timeline.add_event(session, conversation, "Woken by the shopper's message", private=True)
        announce_state(session, conversation)
        return conversation.owner == Owner.queue.value
    if conversation.status == Status.resolved.value:
        conversation.status = Status.open.value
        conversation.resolved_at = None
        if conversation.owner != Owner.bot.value:
            conversation.owner = Owner.queue.value
            conversation.assignee_id = None
            conversation.assignee_name = ""
        await timeline.add_event(session, conversation, "Reopened by the shopper's message", private=True)
        announce_state(session, conversation)
        return conversation.owner == Owner.queue.value
    return False


async def hand_off(
    session: AsyncSession, env: ChatEnv, conversation_id: int, *, by: str, reason: str
) -> Conversation:
    """Move a bot-owned conversation to the human queue with a reason (`by`: "bot" or "shopper"). Commits.

    Idempotent: a conversation already with a human (queued or assigned) stays as it is.
    """
    reason = clean_text(reason or "asked for a person", max_chars=HANDOFF_REASON_CHARS)
    conversation = await timeline.lock_conversation(session, conversation_id)
    if conversation.owner != Owner.bot.value:
        await session.commit()
        return conversation
    if conversation.status == Status.resolved.value:
        raise Conflict("this conversation has ended", code="conversation_resolved")
    conversation.owner = Owner.queue.value
    conversation.status = Status.open.value
    conversation.snoozed_until = None
    conversation.handoff_reason = reason
    conversation.waiting_since = conversation.waiting_since or utcnow()
    who = "the bot" if by == "bot" else "the shopper"
    await timeline.add_event(session, conversation, f"Handed to a person by {who}: {reason}", private=True)
    await timeline.add_event(session, conversation, "Connecting you with a person from our team…")
    record(session, events.HandedOff(conversation_id=conversation.id, by=by, reason=reason))
    announce_state(session, conversation)
    await session.commit()
    await assignment.dispatch(session, env)
    return conversation


async def wake_snoozed(session: AsyncSession, env: ChatEnv) -> int:
    """Snoozed conversations whose time has come are open again. Commits; returns how many woke."""
    now = utcnow()
    ids = (
        await session.scalars(
            select(Conversation.id).where(
                Conversation.status == Status.snoozed.value, Conversation.snoozed_until <= now
            )
        )
    ).all()
    woke = 0
    for conversation_id in ids:
        conversation = await timeline.lock_conversation(session, conversation_id)
        if conversation.status != Status.snoozed.value or conversation.snoozed_until is None:
            continue
        conversation.status = Status.open.value
        conversation.snoozed_until = None
        if conversation.owner == Owner.queue.value:
            conversation.waiting_since = conversation.waiting_since or now
        await timeline.add_event(session, conversation, "Snooze ended", private=True)
        announce_state(session, conversation)
        woke += 1
    await session.commit()
    if woke:
        await assignment.dispatch(session, env)
    return woke


async def adopt_guest_conversations(session: AsyncSession, guest_id: str, user_id: int) -> None:
    """A guest signed in: their conversations become the account's (a guest handover; the caller commits).

    If the account already has an unresolved conversation and so does the guest, the guest's (the one the
    shopper is looking at) continues and the account's older one is resolved.
    """
    from engage.auth import User

    guest_key, user_key = f"guest:{guest_id}", f"user:{user_id}"
    guest_open = await current_of(session, guest_key)
    if (
        guest_open is None
        and await session.scalar(select(Conversation.id).where(Conversation.owner_key == guest_key).limit(1))
        is None
    ):
        return
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    if guest_open is not None and (older := await current_of(session, user_key)) is not None:
        older = await timeline.lock_conversation(session, older.id)
        await _apply_status(session, older, Status.resolved, by="a newer conversation after sign-in")
    await session.execute(
        update(Conversation)
        .where(Conversation.owner_key == guest_key)
        .values(owner_key=user_key, user_id=user_id, contact_name=user.name, contact_email=user.email)
    )


class CustomerConversation(msgspec.Struct):
    id: int
    status: str
    owner: str  # bot | queue | agent
    assignee_name: str
    started_at: datetime
    last_activity_at: datetime


async def of_customer(
    session: AsyncSession, user_id: int, *, email: str = "", limit: int = 20
) -> list[CustomerConversation]:
    """A customer's conversations, newest activity first: signed in, or left their email as a guest."""
    whose = Conversation.user_id == user_id
    if email:
        whose = or_(whose, func.lower(Conversation.contact_email) == email.lower())
    rows = await session.scalars(
        select(Conversation).where(whose).order_by(Conversation.last_activity_at.desc()).limit(limit)
    )
    return [
        CustomerConversation(c.id, c.status, c.owner, c.assignee_name, c.created_at, c.last_activity_at)
        for c in rows
    ]
