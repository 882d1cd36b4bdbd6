"""The timeline's guarantees, raced on real databases: unique gap-free sequences, stored-once re-sends,
notes kept from shoppers, text rules, the per-sender rate limit."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import event, func, select, update

from engage.chat import conversations, events, messages, teams
from engage.chat.env import ChatEnv
from engage.chat.models import Conversation, Message
from engage.chat.rate_limit import SenderRateLimit
from engage.config import Settings
from engage.platform.counters import make_counter
from engage.platform.errors import InvalidInput, NotFound, RateLimited
from engage.platform.identity import Role
from engage.platform.runtime import Runtime
from engage.wiring import build
from tests.engage.chat.conftest import guest


async def _race_posts(runtime: Runtime, env: ChatEnv, n: int) -> tuple[int, list[int]]:
    shopper = guest()
    async with runtime.sessionmaker() as session:
        conversation, _ = await conversations.start(session, env, shopper, human=True)

    async def send(i: int) -> int:
        async with runtime.sessionmaker() as session:
            ack = await messages.post(session, env, shopper, conversation.id, text=f"message {i}")
            return ack.seq

    seqs = await asyncio.gather(*(send(i) for i in range(n)))
    return conversation.id, seqs


async def _stored_seqs(runtime: Runtime, conversation_id: int) -> list[int]:
    async with runtime.sessionmaker() as session:
        return list(
            (
                await session.scalars(
                    select(Message.seq)
                    .where(Message.conversation_id == conversation_id)
                    .order_by(Message.seq)
                )
            ).all()
        )


async def test_concurrent_posts_get_unique_gap_free_sequences_on_postgresql(runtime, env) -> None:
    conversation_id, acked = await _race_posts(runtime, env, 40)
    stored = await _stored_seqs(runtime, conversation_id)
    assert sorted(acked) == list(range(1, 41))
    assert stored == list(range(1, 41))


@pytest.fixture(scope="module")
async def sqlite_services(sqlite_settings: Settings):
    built = build(sqlite_settings, run_cron=False)
    await built.start()
    yield built
    await built.stop()


async def test_concurrent_posts_get_unique_gap_free_sequences_on_sqlite(sqlite_services) -> None:
    conversation_id, acked = await _race_posts(sqlite_services.runtime, sqlite_services.chat, 25)
    assert sorted(acked) == list(range(1, 26))
    assert await _stored_seqs(sqlite_services.runtime, conversation_id) == list(range(1, 26))


async def test_a_resent_client_id_is_stored_once_even_when_the_copies_race(runtime, env) -> None:
    shopper = guest()
    async with runtime.sessionmaker() as session:
        conversation, _ = await conversations.start(session, env, shopper, human=True)
    client_id = uuid.uuid4().hex

    async def send() -> tuple[int, int, bool]:
        async with runtime.sessionmaker() as session:
            ack = await messages.post(
                session, env, shopper, conversation.id, text="hello?", client_id=client_id
            )
            return ack.id, ack.seq, ack.duplicate

    acks = await asyncio.gather(*(send() for _ in range(8)))
    assert len({(i, s) for i, s, _ in acks}) == 1, acks
    assert sum(1 for *_, dup in acks if not dup) == 1
    async with runtime.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(Message).where(Message.conversation_id == conversation.id)
        )
    assert count == 1
    # sequential re-send after the fact: the stored message again
    assert (await send())[:2] == acks[0][:2]


async def test_notes_never_reach_the_shoppers_history(runtime, env, make_user) -> None:
    shopper, agent = guest(), await make_user()
    async with runtime.sessionmaker() as session:
        conversation, _ = await conversations.start(session, env, shopper, human=True)
        await messages.post(session, env, shopper, conversation.id, text="Where is my parcel?")
        await messages.post(session, env, agent, conversation.id, text="VIP, be nice", private=True)
        await messages.post(session, env, agent, conversation.id, text="Let me check")
        staff_items, _ = await messages.history(session, agent, conversation.id)
        shopper_items, _ = await messages.history(session, shopper, conversation.id)
        replay, _ = await messages.history(session, shopper, conversation.id, after=0)
    assert "VIP, be nice" in [m.text for m in staff_items]
    for items in (shopper_items, replay):
        texts = [m.text for m in items]
        assert "VIP, be nice" not in texts and "Where is my parcel?" in texts and "Let me check" in texts
        assert all(not m.private for m in items)
    with pytest.raises(InvalidInput):
        async with runtime.sessionmaker() as session:
            await messages.post(session, env, shopper, conversation.id, text="sneaky", private=True)


async def test_the_first_response_clock_is_announced_to_staff_only(runtime, env, make_user, recorder) -> None:
    shopper, agent = guest(), await make_user()
    async with runtime.sessionmaker() as session:
        conversation, _ = await conversations.start(session, env, shopper, human=True)
        await messages.post(session, env, agent, conversation.id, text="Hello, I am here")  # takes it
    shopper_channel, staff_channel = (
        events.conversation_channel(conversation.id),
        events.staff_channel(conversation.id),
    )

    async def published_after(sender: Any, text: str) -> list[Any]:
        await runtime.publisher.drain()
        seen = len(recorder.events)
        async with runtime.sessionmaker() as session:
            await messages.post(session, env, sender, conversation.id, text=text)
        await runtime.publisher.drain()
        return recorder.events[seen:]

    def clocks(published: list[Any], channel: str) -> list[Any]:
        """What staff (or the shopper) learn of the clock: the message's `waiting_since`, or a state hint's."""
        return [
            e.data["waiting_since"]
            for e in published
            if channel in e.channels
            and e.type in (events.MESSAGE, events.CONVERSATION)
            and "waiting_since" in e.data
        ]

    asked = await published_after(shopper, "Where is my parcel?")
    answered = await published_after(agent, "On its way")
    again = await published_after(agent, "It left the warehouse this morning")
    for published, waiting in ((asked, True), (answered, False)):
        told = clocks(published, staff_channel)
        assert len(told) == 1 and (told[0] is not None) is waiting, told
        assert not clocks(published, shopper_channel), "the shopper's view did not change"
        inbox = [e for e in published if e.type == events.INBOX]
        assert len(inbox) == 1 and (inbox[0].data["waiting_since"] is not None) is waiting
    assert not clocks(again, staff_channel), "a second answer moves no clock"
    assert not [e for e in again if e.type in (events.INBOX, events.CONVERSATION)]


async def test_history_pages_backwards_and_replays_forwards(runtime, env) -> None:
    shopper = guest()
    async with runtime.sessionmaker() as session:
        conversation, _ = await conversations.start(session, env, shopper, human=True)
    for i in range(12):
        async with runtime.sessionmaker() as session:
            await messages.post(session, env, shopper, conversation.id, text=f"m{i}")
    async with runtime.sessionmaker() as session:
        newest, more = await messages.history(session, shopper, conversation.id, limit=5)
        assert [m.seq for m in newest] == [8, 9, 10, 11, 12] and more
        older, more = await messages.history(session, shopper, conversation.id, before=8, limit=5)
        assert [m.seq for m in older] == [3, 4, 5, 6, 7] and more
        oldest, more = await messages.history(session, shopper, conversation.id, before=3, limit=5)
        assert [m.seq for m in oldest] == [1, 2] and not more
        after, more = await messages.history(session, shopper, conversation.id, after=9)
        assert [m.seq for m in after] == [10, 11, 12] and not more


async def test_text_rules_length_control_characters_and_no_html(runtime, env) -> None:
    shopper = guest()
    async with runtime.sessionmaker() as session:
        conversation, _ = await conversations.start(session, env, shopper, human=True)
        ack = await messages.post(
            session, env, shopper, conversation.id, text="  <b>hi</b>\x00\u202e see https://x.test/a?b=1.  "
        )
        stored = await session.get(Message, ack.id)
        assert stored is not None and stored.body == "<b>hi</b> see https://x.test/a?b=1."
        with pytest.raises(InvalidInput) as too_long:
            await messages.post(
                session, env, shopper, conversation.id, text="x" * (env.limits.max_message_chars + 1)
            )
        assert too_long.value.code == "message_too_long"
        with pytest.raises(InvalidInput):
            await messages.post(session, env, shopper, conversation.id, text=" \n\t ")
        with pytest.raises(InvalidInput):
            await messages.post(session, env, shopper, conversation.id, text="ok", client_id="bad id!")


async def test_a_shopper_cannot_touch_another_shoppers_conversation(runtime, env) -> None:
    alice, mallory = guest(), guest()
    async with runtime.sessionmaker() as session:
        conversation, _ = await conversations.start(session, env, alice, human=True)
        await messages.post(session, env, alice, conversation.id, text="my address is ...")
    async with runtime.sessionmaker() as session:
        with pytest.raises(NotFound):
            await messages.history(session, mallory, conversation.id)
        with pytest.raises(NotFound):
            await messages.post(session, env, mallory, conversation.id, text="hi")
        with pytest.raises(NotFound):
            await messages.mark_receipts(session, mallory, conversation.id, read=1)


async def test_sender_rate_limit_is_shared_across_nodes(runtime, env, settings) -> None:
    """Two limiters on the same Redis (two nodes) count one sender together."""
    count, seconds = 5, 60
    node_a = SenderRateLimit(make_counter(runtime.redis, settings.redis_prefix), count, seconds)
    node_b = SenderRateLimit(make_counter(runtime.redis, settings.redis_prefix), count, seconds)
    sender = f"guest:{uuid.uuid4().hex}"
    await asyncio.gather(*(node.hit(sender) for node in (node_a, node_b, node_a, node_b, node_a)))
    with pytest.raises(RateLimited) as refused:
        await node_b.hit(sender)
    assert refused.value.retry_after >= 1
    await node_a.hit(f"guest:{uuid.uuid4().hex}")  # another sender is not affected


async def test_posting_over_the_rate_limit_is_refused_before_storing(runtime, env) -> None:
    limited = ChatEnv(
        limits=env.limits,
        rate_limit=SenderRateLimit(make_counter(None, "t"), count=3, seconds=60),
        blobs=env.blobs,
        publisher=env.publisher,
    )
    shopper = guest()
    async with runtime.sessionmaker() as session:
        conversation, _ = await conversations.start(session, limited, shopper, human=True)
        for i in range(3):
            await messages.post(session, limited, shopper, conversation.id, text=f"{i}", client_id=f"c{i}")
        with pytest.raises(RateLimited):
            await messages.post(session, limited, shopper, conversation.id, text="one too many")
        # re-sending a stored message is not a new message: never refused
        again = await messages.post(session, limited, shopper, conversation.id, text="0", client_id="c0")
        assert again.duplicate
    assert await _stored_seqs(runtime, conversation.id) == [1, 2, 3]


async def test_a_message_is_locked_then_written_in_one_statement_with_the_conversations_changes(
    runtime, env, make_user
) -> None:
    """The hot path on PostgreSQL: the locked read, then one statement that takes the numbers, writes the
    conversation's changes (the first-response clock here) and stores the message."""
    shopper, agent = guest(), await make_user()
    async with runtime.sessionmaker() as session:
        conversation, _ = await conversations.start(session, env, shopper, human=True)
    for who, text in ((shopper, "hello?"), (agent, "hi!"), (shopper, "where is my order?")):
        async with runtime.sessionmaker() as session:  # the agent joins (2, 3); the shopper waits again (4)
            await messages.post(session, env, who, conversation.id, text=text)
    async with runtime.sessionmaker() as session:
        connection = await session.connection()  # the transaction the post runs in
        statements: list[str] = []

        def seen(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if conn is connection.sync_connection:
                statements.append(statement)

        event.listen(runtime.engine.sync_engine, "before_cursor_execute", seen)
        try:
            ack = await messages.post(session, env, agent, conversation.id, text="it ships today")
        finally:
            event.remove(runtime.engine.sync_engine, "before_cursor_execute", seen)
    assert len(statements) == 2, statements
    assert "FOR UPDATE" in statements[0]
    assert statements[1].lstrip().startswith("WITH") and "INSERT INTO chat_messages" in statements[1]
    async with runtime.sessionmaker() as session:
        stored = await session.get(Conversation, conversation.id)
        assert stored is not None
        assert (stored.last_seq, stored.last_public_seq) == (ack.seq, ack.seq) == (5, 5)
        assert stored.waiting_since is None and stored.first_response_at is not None
        assert stored.owner == "agent" and stored.assignee_id == agent.user_id
        assert stored.last_preview == "it ships today"
    assert await _stored_seqs(runtime, conversation.id) == [1, 2, 3, 4, 5]


# ---- the steady state: an open conversation an agent has, in one autocommitted statement ------------------


async def _taken(runtime: Runtime, env: ChatEnv, shopper: Any, agent: Any) -> int:
    async with runtime.sessionmaker() as session:
        conversation, _ = await conversations.start(session, env, shopper, human=True)
        await messages.post(session, env, agent, conversation.id, text="Hello, I am here")  # takes it
        return conversation.id  # seq 1: the agent joined; 2: their greeting


async def test_a_message_in_the_steady_state_is_one_autocommitted_statement(runtime, env, make_user) -> None:
    shopper, agent = guest(), await make_user()
    conversation_id = await _taken(runtime, env, shopper, agent)
    ran: list[str] = []  # every query PostgreSQL got on the connections the post used, as the driver sent it
    watched: list[Any] = []

    def log(query: Any) -> None:
        ran.append(query.query)

    def watch(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        driver = dbapi_connection.driver_connection
        if driver not in watched:
            driver.add_query_logger(log)
            watched.append(driver)

    for who, text in ((shopper, "where is my order?"), (agent, "it ships today"), (shopper, "thanks")):
        ran.clear()
        event.listen(runtime.engine.sync_engine, "checkout", watch)
        try:
            async with runtime.sessionmaker() as session:
                await messages.post(session, env, who, conversation_id, text=text)
        finally:
            event.remove(runtime.engine.sync_engine, "checkout", watch)
            for driver in watched:
                driver.remove_query_logger(log)
            watched.clear()
        assert len(ran) == 1 and "INSERT INTO chat_messages" in ran[0], ran  # no BEGIN, no COMMIT: autocommit
    async with runtime.sessionmaker() as session:
        stored = await session.get(Conversation, conversation_id)
    assert stored is not None
    assert (stored.last_seq, stored.last_public_seq) == (5, 5)
    assert stored.waiting_since is not None and stored.first_response_at is not None  # "thanks" waits again
    assert stored.owner == "agent" and stored.assignee_id == agent.user_id and stored.last_preview == "thanks"
    assert await _stored_seqs(runtime, conversation_id) == [1, 2, 3, 4, 5]


async def test_steady_messages_of_both_sides_racing_get_gap_free_sequences(runtime, env, make_user) -> None:
    shopper, agent = guest(), await make_user()
    conversation_id = await _taken(runtime, env, shopper, agent)

    async def send(i: int) -> int:
        async with runtime.sessionmaker() as session:
            ack = await messages.post(session, env, (shopper, agent)[i % 2], conversation_id, text=f"m{i}")
            return ack.seq

    acked = await asyncio.gather(*(send(i) for i in range(40)))
    assert sorted(acked) == list(range(3, 43))
    assert await _stored_seqs(runtime, conversation_id) == list(range(1, 43))


async def test_a_steady_resend_racing_its_copies_is_stored_once(runtime, env, make_user) -> None:
    shopper, agent = guest(), await make_user()
    conversation_id = await _taken(runtime, env, shopper, agent)
    client_id = uuid.uuid4().hex

    async def send() -> tuple[int, int, bool]:
        async with runtime.sessionmaker() as session:
            ack = await messages.post(session, env, shopper, conversation_id, text="hi?", client_id=client_id)
            return ack.id, ack.seq, ack.duplicate

    acks = await asyncio.gather(*(send() for _ in range(8)))
    assert len({(i, s) for i, s, _ in acks}) == 1 and sum(1 for *_, dup in acks if not dup) == 1, acks
    assert await _stored_seqs(runtime, conversation_id) == [1, 2, 3]
    assert await send() == (*acks[0][:2], True)


async def test_steady_messages_count_once_against_the_rate_limit(runtime, env, make_user) -> None:
    limited = ChatEnv(
        limits=env.limits,
        rate_limit=SenderRateLimit(make_counter(None, "t"), count=3, seconds=60),
        blobs=env.blobs,
        publisher=env.publisher,
    )
    shopper, agent = guest(), await make_user()
    conversation_id = await _taken(runtime, limited, shopper, agent)

    async def post(text: str, client_id: str | None = None) -> Any:
        async with runtime.sessionmaker() as session:
            return await messages.post(
                session, limited, shopper, conversation_id, text=text, client_id=client_id
            )

    for i in range(3):
        await post(f"{i}", f"c{i}")
    with pytest.raises(RateLimited):
        await post("one too many")
    assert (await post("0", "c0")).duplicate  # a re-send past the limit is answered all the same
    assert await _stored_seqs(runtime, conversation_id) == [1, 2, 3, 4, 5]


async def test_only_the_conversations_team_answers_in_it(runtime, env, make_user) -> None:
    shopper, member, outsider, admin = (
        guest(),
        await make_user(),
        await make_user(),
        await make_user(Role.admin),
    )
    conversation_id = await _taken(runtime, env, shopper, member)
    async with runtime.sessionmaker() as session:
        team = await teams.create_team(session, slug=f"t-{uuid.uuid4().hex[:8]}", name="Returns")
        await teams.set_member(session, team.id, member.user_id, member=True)
        await session.execute(
            update(Conversation).where(Conversation.id == conversation_id).values(team_id=team.id)
        )
        await session.commit()
    for who, allowed in ((outsider, False), (member, True), (admin, True), (guest(), False)):
        async with runtime.sessionmaker() as session:
            if allowed:
                await messages.post(session, env, who, conversation_id, text="on it")
            else:
                with pytest.raises(NotFound):
                    await messages.post(session, env, who, conversation_id, text="let me in")
    assert await _stored_seqs(runtime, conversation_id) == [1, 2, 3, 4]


async def test_steady_messages_after_every_database_connection_was_dropped_are_stored(
    runtime, env, make_user, settings
) -> None:
    from tests.engage.test_database_connections_lost import _drop_every_connection

    shopper, agent = guest(), await make_user()
    conversation_id = await _taken(runtime, env, shopper, agent)

    async def post(who: Any, text: str) -> int:
        async with runtime.sessionmaker() as session:
            return (await messages.post(session, env, who, conversation_id, text=text)).seq

    assert [await post(shopper, "one"), await post(agent, "two")] == [3, 4]  # the pool holds used connections
    assert await _drop_every_connection(settings.db_url) > 0
    assert [await post(shopper, "still there?"), await post(agent, "yes")] == [5, 6]
    assert await _stored_seqs(runtime, conversation_id) == [1, 2, 3, 4, 5, 6]
