"""Chat across two `engage serve` nodes sharing PostgreSQL and Redis, over real sockets."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import Iterator

import pytest
import websockets
from sqlalchemy import select

from engage.auth.middleware import load_identity
from engage.chat import assignment, conversations, messages
from engage.chat.models import Conversation, Message
from engage.platform.identity import Identity, Role
from tests.conftest import Server, start_server
from tests.engage.chat.chatters import Browser, Chatter, ws_url
from tests.realtime.client import Socket

pytestmark = [pytest.mark.nodes, pytest.mark.usefixtures("quiet_queue")]
FLOOD = 600


@pytest.fixture(scope="module")
def nodes(
    prod_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    # a small send queue, so the slow-consumer test falls behind within a few hundred frames
    env = {**prod_env, "ENGAGE_WS_FRAMES_PER_SECOND": "50", "ENGAGE_WS_SEND_QUEUE": "64"}
    log_dir = tmp_path_factory.mktemp("chat-nodes")
    a = start_server(env, log_dir)
    try:
        b = start_server(env, log_dir)
    except Exception:
        a.stop()
        raise
    yield a, b
    a.stop()
    b.stop()


async def _agent(node: Server, make_account, capacity: int) -> tuple[Browser, int]:
    account = await make_account(Role.agent)
    browser = await Browser(node.url).__aenter__()
    await browser.sign_in(account.email)
    me = await browser.call("PUT", "/api/chat/agents/me", {"availability": "online", "capacity": capacity})
    assert me["availability"] == "online"
    return browser, account.id


async def _guest_starts(node: Server, text: str) -> tuple[Browser, int]:
    browser = await Browser(node.url).__aenter__()
    started = await browser.call(
        "POST", "/api/chat/conversations", {"text": text, "client_id": uuid.uuid4().hex, "human": True}
    )
    return browser, started["conversation"]["id"]


async def _message(sock: Socket, channel: str, text: str) -> dict:
    """The event of the message with `text` on `channel` (skipping the others)."""
    while True:
        event = await sock.next("event", channel=channel, event="chat.message")
        if event["data"]["message"]["text"] == text:
            return event


async def test_two_shoppers_two_agents_two_nodes(nodes, make_account, runtime) -> None:
    a, b = nodes
    (agent_a, agent_a_id), (agent_b, agent_b_id) = (
        await _agent(a, make_account, capacity=1),
        await _agent(b, make_account, capacity=1),
    )
    shopper_1, cid_1 = await _guest_starts(a, "hello from node a")
    shopper_2, cid_2 = await _guest_starts(b, "hello from node b")
    shopper_3, cid_3 = await _guest_starts(a, "me too")
    browsers = [agent_a, agent_b, shopper_1, shopper_2, shopper_3]
    try:
        # capacity 1 each: the two oldest are taken, one per agent; the third waits
        async with runtime.sessionmaker() as session:
            rows = dict(
                (
                    await session.execute(
                        select(Conversation.id, Conversation.assignee_id).where(
                            Conversation.id.in_([cid_1, cid_2, cid_3])
                        )
                    )
                ).all()
            )
        assert {rows[cid_1], rows[cid_2]} == {agent_a_id, agent_b_id} and rows[cid_3] is None
        agent_of_1 = agent_a if rows[cid_1] == agent_a_id else agent_b

        # shopper 1 chats on node a; its agent sits on node b
        async with (
            Socket.open(a.url, cookie=shopper_1.cookie) as shopper_sock,
            Socket.open(b.url, cookie=agent_of_1.cookie) as agent_sock,
            Socket.open(b.url, cookie=shopper_2.cookie) as intruder,
        ):
            sub = await shopper_sock.subscribe(f"conversation:{cid_1}")
            assert sub["type"] == "subscribed" and sub["recovered"] is False
            assert sub["snapshot"]["messages"][0]["text"] == "hello from node a"
            staff_sub = await agent_sock.subscribe(f"conversation-staff:{cid_1}")
            assert staff_sub["snapshot"]["conversation"]["contact_name"] == ""

            ack = await shopper_sock.request(
                {
                    "type": "chat.send",
                    "conversation_id": cid_1,
                    "text": "is anyone there?",
                    "client_id": "s-1",
                }
            )
            assert ack["type"] == "reply" and ack["data"]["seq"] == sub["seq"] + 1
            got = await _message(agent_sock, f"conversation-staff:{cid_1}", "is anyone there?")
            assert (
                got["data"]["message"]["text"] == "is anyone there?"
                and got["data"]["message"]["author"] == "shopper"
            )

            await agent_sock.send({"type": "chat.typing", "conversation_id": cid_1, "typing": True})
            typing = await shopper_sock.next("event", channel=f"conversation:{cid_1}", event="chat.typing")
            assert (
                typing["data"]["author"] == "agent"
                and typing["data"]["typing"] is True
                and "seq" not in typing
            )
            note = await agent_sock.request(
                {"type": "chat.send", "conversation_id": cid_1, "text": "looks like fraud?", "private": True}
            )
            assert note["type"] == "reply"
            reply = await agent_sock.request(
                {
                    "type": "chat.send",
                    "conversation_id": cid_1,
                    "text": "Yes! How can I help?",
                    "client_id": "a-1",
                }
            )
            assert reply["data"]["seq"] == note["data"]["seq"] + 1
            seen = await _message(shopper_sock, f"conversation:{cid_1}", "Yes! How can I help?")
            assert seen["data"]["message"]["text"] == "Yes! How can I help?"
            assert seen["seq"] == ack["data"]["seq"] + 1, "the note took no number in the shopper's stream"
            read = await shopper_sock.request(
                {"type": "chat.read", "conversation_id": cid_1, "seq": seen["seq"]}
            )
            assert read["data"]["read_seq"] == seen["seq"]
            receipt = await agent_sock.next("event", event="chat.receipt")
            assert receipt["data"] == {
                "conversation_id": cid_1,
                "side": "shopper",
                "delivered_seq": seen["seq"],
                "read_seq": seen["seq"],
            }

            # another shopper can neither watch nor post into it, over the socket or HTTP
            for channel in (
                f"conversation:{cid_1}",
                f"conversation-staff:{cid_1}",
                f"conversation-staff:{cid_2}",
                "agents",
            ):
                refused = await intruder.subscribe(channel)
                assert refused["type"] == "error" and refused["code"] == "forbidden", channel
            sneaky = await intruder.request(
                {"type": "chat.send", "conversation_id": cid_1, "text": "hi from a stranger"}
            )
            assert sneaky["type"] == "error" and sneaky["code"] == "conversation_not_found"
            for frame in (
                {"type": "chat.typing", "conversation_id": cid_1, "typing": True},
                {"type": "chat.read", "conversation_id": cid_1, "seq": 1},
            ):
                denied = await intruder.request(frame)
                assert denied["type"] == "error" and denied["code"] == "conversation_not_found"
            res = await shopper_2.get(f"/api/chat/conversations/{cid_1}/messages")
            assert res.status_code == 404
            own = await intruder.subscribe(f"conversation:{cid_2}")
            assert own["type"] == "subscribed"
            texts = [m["text"] for m in own["snapshot"]["messages"]]
            assert "hello from node b" in texts and "Yes! How can I help?" not in texts
            await asyncio.sleep(0.3)
            assert not [f for f in intruder.backlog if f.get("channel") == f"conversation:{cid_1}"]
            assert not [f for f in shopper_sock.backlog if "fraud" in json.dumps(f)], (
                "the note never reaches the shopper"
            )

            # resolving frees the agent: the waiting conversation is next, still within capacity
            await agent_of_1.call("POST", f"/api/chat/conversations/{cid_1}/status", {"status": "resolved"})
            ended = await shopper_sock.next(
                "event", channel=f"conversation:{cid_1}", event="chat.conversation"
            )
            while ended["data"]["status"] != "resolved":  # earlier state hints come first
                ended = await shopper_sock.next(
                    "event", channel=f"conversation:{cid_1}", event="chat.conversation"
                )
        async with runtime.sessionmaker() as session:
            third = await session.get(Conversation, cid_3)
            assert third is not None and third.assignee_id == rows[cid_1]
        for browser in (agent_a, agent_b):
            await browser.call("PUT", "/api/chat/agents/me", {"availability": "offline"})
    finally:
        for browser in browsers:
            await browser.aclose()


async def test_two_hundred_conversations_lose_nothing_while_sockets_drop(
    nodes, make_account, runtime, services
) -> None:
    """200 conversations x 20 messages (10 each way), both sides' sockets dropped at random on two nodes:
    every message is stored once and each side sees every item of its stream, in order."""
    a, b = nodes
    urls = [a.url, b.url]
    conversations_n, per_side = 200, 10
    agents, agent_ids = [], []
    for i in range(4):
        account = await make_account(Role.agent)
        browser = await Browser(urls[i % 2]).__aenter__()
        await browser.sign_in(account.email)
        agents.append(browser)
        agent_ids.append(await load_identity(runtime, account.id))
    env = services.chat
    shoppers: list[tuple[Browser, int]] = []

    async def open_conversation(i: int) -> tuple[Browser, int]:
        """A browser session per shopper (its cookie is the socket's identity); the conversation itself is
        opened and taken through the domain directly, to keep the setup short."""
        browser = await Browser(urls[i % 2]).__aenter__()
        guest = Identity(None, None, guest_id=(await browser.call("GET", "/api/auth/me"))["guest_id"])
        async with runtime.sessionmaker() as session:
            conversation, _ = await conversations.start(session, env, guest, human=True)
            await assignment.assign(session, env, agent_ids[i % 4], conversation.id, agent_ids[i % 4].user_id)
        return browser, conversation.id

    for start in range(0, conversations_n, 25):
        shoppers += await asyncio.gather(*(open_conversation(i) for i in range(start, start + 25)))

    sides: list[Chatter] = []
    for i, (browser, cid) in enumerate(shoppers):
        agent = agents[i % 4]
        for who, http, channel in (
            ("s", browser, f"conversation:{cid}"),
            ("a", agent, f"conversation-staff:{cid}"),
        ):
            sides.append(
                Chatter(
                    urls=urls,
                    cookie=http.cookie,
                    conversation_id=cid,
                    channel=channel,
                    outgoing=[(f"{who}{cid}-{n}", f"{who} says {n} in {cid}") for n in range(per_side)],
                    drop_rate=0.04,
                    max_drops=3,
                    pace=(1.0, 4.0),
                    seed=hash((cid, who)),
                    http=http,
                )
            )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 150
    runners = [asyncio.create_task(side.run(deadline, start_within=8.0)) for side in sides]
    try:
        while not all(side.sent_all for side in sides):
            failed = [r for r in runners if r.done() and r.exception()]
            if failed:
                raise failed[0].exception()  # type: ignore[misc]
            assert loop.time() < deadline, "sending did not finish"
            await asyncio.sleep(0.2)
        ids = [cid for _, cid in shoppers]
        async with runtime.sessionmaker() as session:
            heads = {
                cid: (last, last_public)
                for cid, last, last_public in (
                    await session.execute(
                        select(Conversation.id, Conversation.last_seq, Conversation.last_public_seq).where(
                            Conversation.id.in_(ids)
                        )
                    )
                ).all()
            }
        for side in sides:
            last, last_public = heads[side.conversation_id]
            side.target = last if side.channel.startswith("conversation-staff:") else last_public
        await asyncio.gather(*runners)
    finally:
        for runner in runners:
            runner.cancel()
        await asyncio.gather(*runners, return_exceptions=True)
        for browser in agents + [b for b, _ in shoppers]:
            await browser.aclose()

    async with runtime.sessionmaker() as session:
        stored = (
            await session.execute(
                select(Message.conversation_id, Message.seq, Message.client_id, Message.kind)
                .where(Message.conversation_id.in_(ids))
                .order_by(Message.conversation_id, Message.seq)
            )
        ).all()
    by_conversation: dict[int, list[str]] = {}
    for cid, _seq, client_id, kind in stored:
        if kind == "message":
            by_conversation.setdefault(cid, []).append(client_id)
    for cid in ids:
        sent = by_conversation.get(cid, [])
        assert len(sent) == 2 * per_side and len(set(sent)) == 2 * per_side, (cid, sent)
    for side in sides:
        seen = [m["client_id"] for m in side.seen if m["kind"] == "message"]
        assert seen == by_conversation[side.conversation_id], side.channel
        assert [m["seq"] for m in side.seen] == list(range(1, side.last_seq + 1))
    assert sum(side.drops for side in sides) > 100, "the sockets really dropped"
    assert sum(side.resumes for side in sides) > 100, "and resumed from the database"


async def test_a_slow_consumer_is_told_it_lagged_and_resumes_without_loss(
    nodes, make_account, runtime, services
) -> None:
    """A console that stops reading falls behind; the hub stops feeding it and says so; it resumes from the
    database with everything, nothing silently dropped."""
    a, _ = nodes
    shopper, cid = await _guest_starts(a, "first")
    agent_account = await make_account(Role.agent)
    agent = await Browser(a.url).__aenter__()
    try:
        await agent.sign_in(agent_account.email)
        await agent.call("POST", f"/api/chat/conversations/{cid}/take")
        tiny = socket.socket()
        tiny.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a phone on a bad network
        tiny.connect(("127.0.0.1", int(a.url.rsplit(":", 1)[1])))
        async with websockets.connect(
            ws_url(a.url),
            sock=tiny,
            additional_headers={"Cookie": agent.cookie},
            compression=None,
            max_queue=4,
        ) as slow:
            await slow.recv()
            await slow.send(
                json.dumps({"type": "subscribe", "id": 1, "channel": f"conversation-staff:{cid}"})
            )
            subscribed = json.loads(await slow.recv())
            position = subscribed["seq"]
            # the shopper floods the conversation while the console reads nothing; the frames must outgrow
            # the kernel's socket buffers (several MB on loopback) before the send queue fills
            guest_id = (await shopper.call("GET", "/api/auth/me"))["guest_id"]
            writer = Identity(None, None, guest_id=guest_id)
            padding = " " + "😀" * 3500  # 14 KB per frame
            env = services.chat
            for i in range(FLOOD):
                async with runtime.sessionmaker() as session:
                    await messages.post(
                        session, env, writer, cid, text=f"flood {i}{padding}", client_id=f"f{i}"
                    )
            frames = []
            while True:
                try:
                    frame = json.loads(await asyncio.wait_for(slow.recv(), 10))
                except TimeoutError:
                    raise AssertionError(f"no lag after {len(frames)} frames") from None
                frames.append(frame)
                if frame.get("type") == "lagged":
                    break
            events = [f for f in frames if f.get("type") == "event" and "seq" in f.get("data", {})]
            assert [e["data"]["seq"] for e in events] == list(range(position + 1, frame["seq"] + 1))
            await slow.send(
                json.dumps(
                    {
                        "type": "subscribe",
                        "id": 2,
                        "channel": f"conversation-staff:{cid}",
                        "since": {"epoch": frame["epoch"], "seq": frame["seq"]},
                    }
                )
            )
            while (resumed := json.loads(await slow.recv())).get("type") != "subscribed":
                pass
            # that much is more than one resume frame carries: the newest page, and the rest over HTTP
            assert resumed["recovered"] is False
            seen = [e["data"]["message"] for e in events]
            page = await agent.call(
                "GET", f"/api/chat/conversations/{cid}/messages?after={seen[-1]['seq']}&limit=200"
            )
            while page["items"]:
                seen += page["items"]
                page = await agent.call(
                    "GET", f"/api/chat/conversations/{cid}/messages?after={seen[-1]['seq']}&limit=200"
                )
            assert [m["seq"] for m in seen] == list(range(position + 1, resumed["seq"] + 1))
            assert [m["seq"] for m in resumed["snapshot"]["messages"]][-1] == resumed["seq"]
            flood = [m["text"].split()[1] for m in seen if m["text"].startswith("flood")]
            assert flood == [str(i) for i in range(FLOOD)]
    finally:
        await agent.aclose()
        await shopper.aclose()
