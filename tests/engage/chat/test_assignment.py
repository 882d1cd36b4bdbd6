"""Assignment: round robin within capacity, oldest waiting first, offline agents skipped, teams honoured,
manual assign and transfer, bot handoff; raced dispatches never over-fill an agent."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from engage.chat import assignment, availability, conversations, inbox, messages, teams
from engage.chat.env import BotProfile, ChatEnv
from engage.chat.models import AgentState, Availability, Conversation, Owner, Status
from engage.platform.clock import utcnow
from engage.platform.errors import Conflict, InvalidInput, NotFound
from engage.platform.identity import Role
from tests.engage.chat.conftest import guest

pytestmark = pytest.mark.usefixtures("quiet_queue")


async def _waiting(runtime, env, n: int, *, team: str | None = None) -> list[int]:
    ids = []
    for i in range(n):
        shopper = guest()
        async with runtime.sessionmaker() as session:
            conversation, _ = await conversations.start(session, env, shopper, team=team, human=True)
            await messages.post(session, env, shopper, conversation.id, text=f"help {i}")
            ids.append(conversation.id)
    return ids


async def _online(runtime, agent, capacity: int | None = None) -> None:
    async with runtime.sessionmaker() as session:
        await availability.set_availability(session, agent, Availability.online, capacity=capacity)


async def _owners(runtime, ids: list[int]) -> dict[int, int | None]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(Conversation.id, Conversation.assignee_id).where(Conversation.id.in_(ids))
        )
        return dict(rows.all())


async def test_round_robin_within_capacity_oldest_first(runtime, env, make_user) -> None:
    a, b = await make_user(), await make_user()
    ids = await _waiting(runtime, env, 7)
    await _online(runtime, a, capacity=2)
    await _online(runtime, b, capacity=3)
    async with runtime.sessionmaker() as session:
        await assignment.dispatch(session, env)
    owners = await _owners(runtime, ids)
    assert list(owners[i] for i in ids[:5]).count(a.user_id) == 2
    assert list(owners[i] for i in ids[:5]).count(b.user_id) == 3
    assert owners[ids[5]] is None and owners[ids[6]] is None, "the two newest wait"
    # round robin: the first two go to different agents
    assert {owners[ids[0]], owners[ids[1]]} == {a.user_id, b.user_id}

    # a resolved conversation frees a slot: the oldest waiting one takes it
    async with runtime.sessionmaker() as session:
        freed = next(i for i in ids if owners[i] == a.user_id)
        await conversations.set_status(session, env, a, freed, Status.resolved)
    owners = await _owners(runtime, ids)
    assert owners[ids[5]] == a.user_id and owners[ids[6]] is None


async def test_offline_and_busy_agents_get_nothing(runtime, env, make_user) -> None:
    busy, gone, online = await make_user(), await make_user(), await make_user()
    async with runtime.sessionmaker() as session:
        await availability.set_availability(session, busy, Availability.busy)
        await availability.set_availability(session, gone, Availability.online)
        # the console of `gone` went silent long ago
        await session.execute(
            update(AgentState)
            .where(AgentState.user_id == gone.user_id)
            .values(last_seen_at=utcnow() - timedelta(seconds=availability.PRESENCE_TIMEOUT_SECONDS + 5))
        )
        await session.commit()
    ids = await _waiting(runtime, env, 2)
    async with runtime.sessionmaker() as session:
        await assignment.dispatch(session, env)
    assert set((await _owners(runtime, ids)).values()) == {None}
    await _online(runtime, online, capacity=5)  # going online dispatches at once
    async with runtime.sessionmaker() as session:
        await assignment.dispatch(session, env)
    assert set((await _owners(runtime, ids)).values()) == {online.user_id}
    async with runtime.sessionmaker() as session:
        expired = await availability.expire_stale(session)
        agents = {a.id: a for a in await availability.list_agents(session, 5)}
    assert gone.user_id in expired
    assert agents[gone.user_id].availability == "offline" and agents[busy.user_id].availability == "busy"
    assert agents[online.user_id].load == 2


async def test_racing_dispatches_never_exceed_capacity(runtime, env, make_user) -> None:
    agents = [await make_user() for _ in range(3)]
    ids = await _waiting(runtime, env, 12)
    for agent in agents:
        await _online(runtime, agent, capacity=2)

    async def dispatch() -> None:
        async with runtime.sessionmaker() as session:
            await assignment.dispatch(session, env)

    await asyncio.gather(*(dispatch() for _ in range(8)))
    owners = await _owners(runtime, ids)
    for agent in agents:
        assert list(owners.values()).count(agent.user_id) == 2
    assert list(owners.values()).count(None) == 6
    assert [owners[i] is not None for i in ids] == [True] * 6 + [False] * 6, "oldest first"


async def test_teams_limit_who_sees_and_who_is_assigned(runtime, env, make_user) -> None:
    async with runtime.sessionmaker() as session:
        returns = await teams.create_team(session, slug=f"returns-{id(session)}", name="Returns")
    member, outsider, admin = await make_user(), await make_user(), await make_user(Role.admin)
    async with runtime.sessionmaker() as session:
        await teams.set_member(session, returns.id, member.user_id, member=True)
    [conversation_id] = await _waiting(runtime, env, 1, team=returns.slug)
    await _online(runtime, outsider)
    async with runtime.sessionmaker() as session:
        await assignment.dispatch(session, env)
        assert (await _owners(runtime, [conversation_id]))[conversation_id] is None
        with pytest.raises(NotFound):
            await messages.history(session, outsider, conversation_id)
        page = await inbox.list_inbox(session, outsider, inbox.View.all, sla_seconds=60)
        assert conversation_id not in [c.id for c in page.items]
        with pytest.raises(InvalidInput):
            await assignment.assign(session, env, admin, conversation_id, outsider.user_id)
        admin_page = await inbox.list_inbox(session, admin, inbox.View.unassigned, sla_seconds=60)
        assert conversation_id in [c.id for c in admin_page.items]
    await _online(runtime, member)
    async with runtime.sessionmaker() as session:
        await assignment.dispatch(session, env)
    assert (await _owners(runtime, [conversation_id]))[conversation_id] == member.user_id


async def test_manual_assign_transfer_and_unassign(runtime, env, make_user) -> None:
    sam, riley = await make_user(name="Sam"), await make_user(name="Riley")
    [conversation_id] = await _waiting(runtime, env, 1)
    async with runtime.sessionmaker() as session:
        taken = await assignment.assign(session, env, sam, conversation_id, sam.user_id)
        assert taken.owner == Owner.agent.value and taken.assignee_id == sam.user_id
        moved = await assignment.assign(session, env, sam, conversation_id, riley.user_id)
        assert moved.assignee_id == riley.user_id and moved.assignee_name == "Riley"
        items, _ = await messages.history(session, sam, conversation_id)
        assert any(m.private and "Assigned to Riley by Sam" in m.text for m in items)
        shopper_items = [m.text for m in items if not m.private]
        assert "Riley joined the conversation" in shopper_items
        back = await assignment.assign(session, env, riley, conversation_id, None)
        assert back.owner == Owner.queue.value and back.assignee_id is None


async def test_sla_breach_and_counts(runtime, env, make_user) -> None:
    agent = await make_user()
    ids = await _waiting(runtime, env, 2)
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == ids[0])
            .values(waiting_since=utcnow() - timedelta(minutes=10))
        )
        await session.commit()
        page = await inbox.list_inbox(session, agent, inbox.View.unassigned, sla_seconds=120)
        flagged = {c.id: c.sla_breached for c in page.items}
        assert flagged[ids[0]] is True and flagged[ids[1]] is False
        assert [c.id for c in page.items][:2] == ids, "oldest waiting first"
        counts = await inbox.counts(session, agent, sla_seconds=120)
        assert counts.unassigned >= 2 and counts.sla_breached >= 1
        # the agent's first public reply stops the clock
        await messages.post(session, env, agent, ids[0], text="Hi, I'm here")
        conversation = await session.get(Conversation, ids[0], populate_existing=True)
        assert conversation is not None
        assert conversation.waiting_since is None and conversation.first_response_at is not None
        assert conversation.assignee_id == agent.user_id, "replying takes a waiting conversation"


async def test_bot_owned_conversation_hands_off_with_reason(runtime, env, make_user, recorder) -> None:
    with_bot = ChatEnv(
        limits=env.limits,
        rate_limit=env.rate_limit,
        blobs=env.blobs,
        publisher=env.publisher,
        bot=BotProfile(name="Lux"),
    )
    shopper, agent = guest(), await make_user()
    async with runtime.sessionmaker() as session:
        conversation, _ = await conversations.start(session, with_bot, shopper)
        assert conversation.owner == Owner.bot.value and conversation.status == Status.pending.value
        ack = await messages.post(session, with_bot, shopper, conversation.id, text="where is my order?")
        await messages.post_as_bot(
            session,
            with_bot,
            conversation.id,
            "Let me get a person for you.",
            meta={"articles": [{"title": "Track an order", "url": "/help/track-order"}]},
        )
        await conversations.hand_off(
            session, with_bot, conversation.id, by="bot", reason="order status unknown"
        )
        with pytest.raises(Conflict):
            await messages.post_as_bot(session, with_bot, conversation.id, "too late")
        items, _ = await messages.history(session, agent, conversation.id)
    await runtime.publisher.drain()
    turns = recorder.of("chat.bot_turn", conversation.id)
    assert [t.data["message_id"] for t in turns] == [ack.id]
    assert turns[0].data["text"] == "where is my order?"
    assert recorder.of("chat.handoff", conversation.id)[0].data["reason"] == "order status unknown"
    bot_lines = [m for m in items if m.author == "bot"]
    assert (
        bot_lines
        and bot_lines[0].author_name == "Lux"
        and bot_lines[0].meta["articles"][0]["url"] == "/help/track-order"
    )
    assert any("order status unknown" in m.text and m.private for m in items)
    async with runtime.sessionmaker() as session:
        handed = await session.get(Conversation, conversation.id)
        assert handed is not None and handed.owner == Owner.queue.value and handed.waiting_since is not None
    # a reply from the shopper after the handoff is no longer a bot turn
    async with runtime.sessionmaker() as session:
        await messages.post(session, with_bot, shopper, conversation.id, text="hello?")
    await runtime.publisher.drain()
    assert len(recorder.of("chat.bot_turn", conversation.id)) == 1


async def test_snooze_wakes_and_resolved_reopens_to_the_queue(runtime, env, make_user) -> None:
    agent, shopper = await make_user(), guest()
    async with runtime.sessionmaker() as session:
        conversation, _ = await conversations.start(session, env, shopper, human=True)
        await messages.post(session, env, shopper, conversation.id, text="hi")
        await assignment.assign(session, env, agent, conversation.id, agent.user_id)
        with pytest.raises(InvalidInput):
            await conversations.set_status(
                session, env, agent, conversation.id, Status.snoozed, snoozed_until=utcnow() - timedelta(1)
            )
        await conversations.set_status(
            session, env, agent, conversation.id, Status.snoozed, snoozed_until=utcnow() + timedelta(hours=1)
        )
        await session.execute(
            update(Conversation).where(Conversation.id == conversation.id).values(snoozed_until=utcnow())
        )
        await session.commit()
        assert await conversations.wake_snoozed(session, env) >= 1
        woke = await session.get(Conversation, conversation.id, populate_existing=True)
        assert woke is not None and woke.status == "open" and woke.assignee_id == agent.user_id
        await conversations.set_status(session, env, shopper, conversation.id, Status.resolved)
        with pytest.raises(InvalidInput):
            await conversations.set_status(session, env, shopper, conversation.id, Status.open)
        await messages.post(session, env, shopper, conversation.id, text="one more thing")
        again = await session.get(Conversation, conversation.id, populate_existing=True)
        assert again is not None and again.status == "open" and again.owner == "queue"
        assert again.waiting_since is not None


async def test_two_tabs_starting_at_once_share_one_conversation(runtime, env) -> None:
    shopper = guest()

    async def start() -> int:
        async with runtime.sessionmaker() as session:
            conversation, _ = await conversations.start(session, env, shopper, human=True)
            return conversation.id

    ids = await asyncio.gather(*(start() for _ in range(6)))
    assert len(set(ids)) == 1
    async with runtime.sessionmaker() as session:
        n = await session.scalar(
            select(func.count()).select_from(Conversation).where(Conversation.owner_key == shopper.owner_key)
        )
    assert n == 1
