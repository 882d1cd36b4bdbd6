"""The hub in one process (real app, real sockets), in both modes: delivery policies, slow consumers,
coalescing, gap refills, domain-numbered channels, heartbeats and the extension API."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import pytest
import websockets
from sqlalchemy import exc as sa_exc
from websockets.exceptions import ConnectionClosed

from engage.platform.channels import RedisSequencedBackend
from engage.platform.errors import Conflict
from engage.platform.identity import ANONYMOUS
from engage.realtime import ChannelKind, Publication, Snapshot
from engage.realtime.access import anyone
from engage.realtime.frames import Since, Subscribe, event_body
from tests.realtime.client import Socket
from tests.realtime.conftest import serving


class StalledPeer:
    """The far end of a socket that stopped reading: sends wait until `release()`."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self._open = asyncio.Event()

    def release(self) -> None:
        self._open.set()

    async def __call__(self, message: dict[str, Any]) -> None:
        await self._open.wait()
        if message["type"] == "websocket.send":
            self.frames.append(json.loads(message["text"]))

    def events(self, channel: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == "event" and f["channel"] == channel]


async def until(condition: Any, what: str, *, seconds: float = 10.0) -> None:
    """Poll `condition` (state changes in other tasks we cannot await directly)."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting until {what}")


def register_test_kinds(hub: Any) -> None:
    if "testrel" not in hub.kinds:
        hub.register_kind(ChannelKind("testrel", authorize=anyone, policy="reliable"))


@pytest.mark.slow
async def test_a_client_resumes_exactly_or_gets_a_snapshot(mode_settings) -> None:
    history = 30
    async with serving(mode_settings(channel_history=history)) as (base, hub):
        register_test_kinds(hub)
        channel = f"testrel:resume-{mode_settings.mode}"
        async with Socket.open(base) as sock:
            sub = await sock.subscribe(channel)
        for n in range(25):
            await hub.publish(channel, "tick", {"n": n})
        async with Socket.open(base) as sock:
            resumed = await sock.subscribe(channel, since={"epoch": sub["epoch"], "seq": sub["seq"]})
            assert resumed["recovered"] is True
            assert [e["data"]["n"] for e in resumed["events"]] == list(range(25))
            assert [e["seq"] for e in resumed["events"]] == list(range(sub["seq"] + 1, sub["seq"] + 26))
            for n in range(25, 25 + history + 5):
                await hub.publish(channel, "tick", {"n": n})
            live = await sock.events(channel, history + 5)
            assert [e["data"]["n"] for e in live] == list(range(25, 25 + history + 5))
            behind = await sock.subscribe(channel, since={"epoch": resumed["epoch"], "seq": resumed["seq"]})
            assert behind["recovered"] is False and behind["events"] == []
            assert behind["seq"] == resumed["seq"] + history + 5


async def test_a_socket_that_stops_reading_is_told_it_lagged_and_resumes(mode_settings) -> None:
    async with serving(mode_settings(ws_send_queue=20)) as (_, hub):
        register_test_kinds(hub)
        channel = f"testrel:slow-{mode_settings.mode}"
        peer = StalledPeer()
        conn = hub.attach(ANONYMOUS, peer)
        await hub.subscribe(conn, Subscribe(type="subscribe", channel=channel), 1)
        for n in range(60):
            await hub.publish(channel, "tick", {"n": n})
        await until(lambda: conn.memberships[channel].lagged, "the socket lags")
        assert len(conn.outbox) <= 20 + 2, "the queue stays bounded"

        peer.release()
        await until(lambda: any(f["type"] == "lagged" for f in peer.frames), "the lagged notice goes out")
        lagged = next(f for f in peer.frames if f["type"] == "lagged")
        got = peer.events(channel)
        subscribed = next(f for f in peer.frames if f["type"] == "subscribed")
        assert [e["seq"] for e in got] == list(range(subscribed["seq"] + 1, lagged["seq"] + 1))
        assert 0 < len(got) < 60

        # what a client does on `lagged`: subscribe again from its last position
        await hub.subscribe(
            conn, Subscribe("subscribe", channel, since=Since(lagged["epoch"], lagged["seq"])), 2
        )
        await until(lambda: any(f.get("id") == 2 for f in peer.frames), "the resume answer")
        resumed = next(f for f in peer.frames if f.get("id") == 2)
        assert resumed["recovered"] is True
        assert [e["data"]["n"] for e in got + resumed["events"]] == list(range(60))
        await hub.detach(conn)


async def test_on_latest_channels_a_slow_socket_gets_only_the_newest_value_per_key(mode_settings) -> None:
    async with serving(mode_settings()) as (_, hub):
        register_test_kinds(hub)
        channel, marker = f"product:slow-{mode_settings.mode}", f"testrel:marker-{mode_settings.mode}"
        peer = StalledPeer()
        conn = hub.attach(ANONYMOUS, peer)
        await hub.subscribe(conn, Subscribe("subscribe", channel), 1)
        await hub.subscribe(conn, Subscribe("subscribe", marker), 2)
        for available in range(100, 0, -1):
            for variant in (1, 2):
                await hub.publish(
                    channel, "stock.changed", {"variant_id": variant, "available": available * variant}
                )
        await hub.publishing.coalescer.drain()  # the trailing frames now, not in 200 ms
        await hub.publish(marker, "done", {})
        await until(lambda: conn.memberships[marker].seq > 0, "everything reached the socket's queue")

        peer.release()
        await until(lambda: any(f.get("event") == "done" for f in peer.frames), "the queue drains")
        newest = {e["key"]: e["data"]["available"] for e in peer.events(channel)}
        assert newest == {"stock.changed:1": 1, "stock.changed:2": 2}
        assert len(peer.events(channel)) == 2, "superseded frames were skipped"
        await hub.detach(conn)


@pytest.mark.slow
async def test_a_burst_of_1000_stock_changes_reaches_subscribers_as_a_handful_of_frames(
    mode_settings,
) -> None:
    async with serving(mode_settings()) as (base, hub):
        channel = f"product:burst-{mode_settings.mode}"
        async with Socket.open(base) as sock:
            await sock.subscribe(channel)
            for n in range(1000):
                await hub.publish(channel, "stock.changed", {"variant_id": 7, "available": 1000 - n})
                if n % 100 == 99:
                    await asyncio.sleep(0.1)  # spread over about a second, as a real burst
            frames = [await sock.next("event", channel=channel)]
            while frames[-1]["data"]["available"] != 1:
                frames.append(await sock.next("event", channel=channel))
        assert frames[0]["data"]["available"] == 1000, "the first change is not delayed"
        assert len(frames) <= 1000 // 20, f"{len(frames)} frames for 1,000 changes"
        seqs = [f["seq"] for f in frames]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), (
            "coalesced at the source: no numbers skipped"
        )


async def test_a_node_refills_events_redis_pubsub_lost(settings) -> None:
    async with serving(settings) as (base, hub):
        register_test_kinds(hub)
        channel = "testrel:lossy"
        lossy = RedisSequencedBackend(
            hub.runtime.redis,
            prefix=settings.redis_prefix,
            history=settings.channel_history,
            history_seconds=settings.channel_history_seconds,
        )
        lossy._topic = lambda _channel: b"nobody-listens"  # numbered and kept, but its message is lost
        async with Socket.open(base) as sock:
            sub = await sock.subscribe(channel)
            await lossy.publish_sequenced([(channel, event_body(channel, "tick", {"n": 1}, 0))])
            await hub.publish(channel, "tick", {"n": 2})
            got = await sock.events(channel, 2)
            assert [e["data"]["n"] for e in got] == [1, 2]
            assert [e["seq"] for e in got] == [sub["seq"] + 1, sub["seq"] + 2]


async def test_numbered_publishes_go_on_after_redis_forgot_its_scripts(settings) -> None:
    """A restarted Redis has no scripts: the next numbered publish loads its script and is delivered once,
    in sequence."""
    async with serving(settings) as (base, hub):
        register_test_kinds(hub)
        channel = "testrel:noscript"
        async with Socket.open(base) as sock:
            sub = await sock.subscribe(channel)
            await hub.publish(channel, "tick", {"n": 1})
            await hub.runtime.redis.script_flush()
            await hub.publish(channel, "tick", {"n": 2})
            got = await sock.events(channel, 2)
            assert [(e["data"]["n"], e["seq"]) for e in got] == [(1, sub["seq"] + 1), (2, sub["seq"] + 2)]


@pytest.mark.slow
async def test_after_redis_drops_the_subscription_connection_nothing_is_missed(settings) -> None:
    async with serving(settings) as (base, hub):
        register_test_kinds(hub)
        channel = "testrel:reconnect"
        async with Socket.open(base) as sock:
            sub = await sock.subscribe(channel)
            pubsub = hub.plugin.backend._pub_sub
            host, port = pubsub.connection._writer.get_extra_info("sockname")[:2]
            await hub.runtime.redis.client_kill(f"{host}:{port}")
            for n in range(3):  # published while the node is away: lost by pub/sub
                await hub.publish(channel, "tick", {"n": n})
            got = await sock.events(channel, 3)
            assert [e["data"]["n"] for e in got] == [0, 1, 2]
            assert [e["seq"] for e in got] == [sub["seq"] + 1, sub["seq"] + 2, sub["seq"] + 3]


async def test_domain_numbered_channels_resume_and_refill_from_the_domain(mode_settings) -> None:
    store: list[Publication] = []

    async def recover(channel: str, last_seq: int) -> list[Publication] | None:
        return [p for p in store if p.seq > last_seq]

    async def snapshot(identity: Any, channel: str) -> Snapshot:
        return Snapshot({"messages": [p.data for p in store]}, store[-1].seq if store else 0)

    async def write(seq: int) -> dict[str, Any]:
        data = {"seq": seq, "text": f"message {seq}"}
        store.append(Publication(seq, "msg", data, 0))
        return data

    async with serving(mode_settings()) as (base, hub):
        hub.register_kind(
            ChannelKind("testdom", authorize=anyone, sequencing="domain", recover=recover, snapshot=snapshot)
        )
        channel = "testdom:1"
        await write(1)
        async with Socket.open(base) as sock:
            sub = await sock.subscribe(channel)
            assert sub["seq"] == 1 and sub["epoch"] == "db" and sub["snapshot"]["messages"][0]["seq"] == 1
            # two writers on two nodes: message 3 is announced before message 2
            second, third = await write(2), await write(3)
            await hub.publish(channel, "msg", third)
            await hub.publish(channel, "msg", second)
            await hub.publish_ephemeral(channel, "typing", {"who": "agent"})
            got = await sock.events(channel, 3)
            numbered = [e for e in got if "seq" in e]
            assert [e["seq"] for e in numbered] == [2, 3]
            assert [e["event"] for e in got if "seq" not in e] == ["typing"]
            last = {"epoch": "db", "seq": 3}

        for seq in (4, 5):
            await write(seq)
        async with Socket.open(base) as sock:
            resumed = await sock.subscribe(channel, since=last)
            assert resumed["recovered"] is True and [e["seq"] for e in resumed["events"]] == [4, 5]


async def test_frame_handlers_of_other_areas_get_their_frames(mode_settings) -> None:
    closed: list[str] = []

    async def echo(ctx: Any, frame: dict[str, Any]) -> Any:
        if frame.get("text") == "conflict":
            raise Conflict("that clashes", code="clash")
        if frame.get("text") == "crash":
            raise RuntimeError("bug")
        if frame.get("text") == "busy":  # what a handler meets when every database connection is taken
            raise sa_exc.TimeoutError("QueuePool limit of size 10 overflow 20 reached")
        ctx.send({"type": "test.notice", "subscribed": ctx.is_subscribed("product:x")})
        return {"echo": frame.get("text"), "user": ctx.identity.user_id}

    async def bye(ctx: Any) -> None:
        closed.append(ctx.connection_id)

    async with serving(mode_settings()) as (base, hub):
        hub.on_frame("test.echo", echo)
        hub.on_disconnect(bye)
        with pytest.raises(ValueError):
            hub.on_frame("subscribe", echo)
        async with Socket.open(base) as sock:
            await sock.subscribe("product:x")
            reply = await sock.request({"type": "test.echo", "text": "hi"})
            assert reply == {
                "type": "reply",
                "id": reply["id"],
                "for": "test.echo",
                "data": {"echo": "hi", "user": None},
            }
            assert (await sock.next("test.notice"))["subscribed"] is True
            clash = await sock.request({"type": "test.echo", "text": "conflict"})
            assert (
                clash["type"] == "error" and clash["code"] == "clash" and clash["message"] == "that clashes"
            )
            crash = await sock.request({"type": "test.echo", "text": "crash"})
            assert crash["code"] == "internal_error" and "bug" not in crash["message"]
            busy = await sock.request({"type": "test.echo", "text": "busy"})
            assert busy["code"] == "unavailable" and busy["retry_after_ms"] > 0, busy
            huge = await sock.request({"type": "subscribe", "channel": "sale:" + "9" * 30})
            assert huge["code"] == "invalid_frame", huge  # an id no row can have: bad input, not a crash
            connection = sock.welcome["connection"]
        await until(lambda: closed == [connection], "the disconnect hook ran")


async def test_a_socket_is_read_while_its_frame_waits_and_its_backlog_is_bounded(
    mode_settings, monkeypatch
) -> None:
    from engage.realtime import connection
    from engage.realtime.connection import MAX_WAITING_FRAMES

    # what waits is bounded in number here, not in time (the next test): a busy machine must not shed them
    monkeypatch.setattr(connection, "MAX_FRAME_WAIT_SECONDS", 120)

    gate = asyncio.Event()
    handled: list[int] = []

    async def slow(ctx: Any, frame: dict[str, Any]) -> Any:
        await gate.wait()  # as a frame waiting for a busy database
        handled.append(frame["n"])
        return frame["n"]

    async with serving(mode_settings(ws_frames_per_second=1000)) as (base, hub):
        hub.on_frame("test.slow", slow)
        async with Socket.open(base) as sock:
            waiting = 1 + MAX_WAITING_FRAMES  # one being handled, the rest waiting
            for n in range(waiting + 3):
                await sock.send({"type": "test.slow", "n": n, "id": f"s{n}"})
            # the socket is still read: a ping is answered while the first frame is stuck
            pong = await sock.request({"type": "ping"})
            assert pong["type"] == "pong"
            for n in range(waiting, waiting + 3):
                shed = await sock.next("error", id=f"s{n}")
                assert shed["code"] == "unavailable" and shed["retry_after_ms"] > 0
            assert handled == []
            gate.set()
            replies = [await sock.next("reply", id=f"s{n}") for n in range(waiting)]
            assert [r["data"] for r in replies] == list(range(waiting))
            assert handled == list(range(waiting)), "frames of one socket are handled in order"


async def test_a_frame_that_waited_too_long_is_shed_not_handled(mode_settings, monkeypatch) -> None:
    from engage.realtime import connection

    monkeypatch.setattr(connection, "MAX_FRAME_WAIT_SECONDS", 0.2)
    gate = asyncio.Event()
    handled: list[int] = []

    async def slow(ctx: Any, frame: dict[str, Any]) -> Any:
        if frame["n"] == 0:
            await gate.wait()
        handled.append(frame["n"])
        return frame["n"]

    async with serving(mode_settings()) as (base, hub):
        hub.on_frame("test.slow", slow)
        async with Socket.open(base) as sock:
            for n in range(3):
                await sock.send({"type": "test.slow", "n": n, "id": f"s{n}"})
            await asyncio.sleep(0.5)  # frames 1 and 2 wait behind frame 0 longer than allowed
            gate.set()
            assert (await sock.next("reply", id="s0"))["data"] == 0
            for n in (1, 2):
                assert (await sock.next("error", id=f"s{n}"))["code"] == "unavailable"
            assert (await sock.request({"type": "test.slow", "n": 3}))["data"] == 3  # fresh frames go on
    assert handled == [0, 3]


async def test_site_wide_channels_take_no_id(mode_settings) -> None:
    async with serving(mode_settings()) as (base, _hub):
        async with Socket.open(base) as sock:
            for channel in ("announcements", "flash-sales"):
                assert (await sock.subscribe(channel))["type"] == "subscribed"
                refused = await sock.request({"type": "subscribe", "channel": f"{channel}:anything"})
                assert refused["type"] == "error" and refused["code"] == "forbidden", refused


@pytest.mark.slow
async def test_heartbeats_close_silent_sockets_and_keep_answering_ones(mode_settings) -> None:
    async with serving(mode_settings(ws_heartbeat_seconds=0.5)) as (base, hub):
        url = base.replace("http", "ws") + "/ws"
        async with websockets.connect(url, proxy=None) as silent, Socket.open(base) as answering:

            async def answer_pings() -> None:
                with contextlib.suppress(TimeoutError):
                    await answering.next("nothing", wait=60)

            reader = asyncio.create_task(answer_pings())
            with pytest.raises(ConnectionClosed) as closed:
                async with asyncio.timeout(20):
                    while True:
                        frame = json.loads(await silent.recv())  # reads, never answers the pings
                        assert frame["type"] in ("welcome", "ping")
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
            await until(lambda: answering.pings >= 4 or reader.done(), "a few more pings were answered")
            reader.cancel()
            (outcome,) = await asyncio.gather(reader, return_exceptions=True)
            assert isinstance(outcome, asyncio.CancelledError), f"the answering socket ended: {outcome!r}"
            assert (await answering.request({"type": "ping"}))["type"] == "pong", "still open"
        await until(lambda: hub.stats()["connections"] == 0, "both are detached")


async def test_product_channels_carry_live_stock_from_inventory(mode_settings) -> None:
    from commerce import inventory
    from tests.commerce.conftest import make_product

    async with serving(mode_settings()) as (base, hub):
        async with hub.runtime.sessionmaker() as session:
            product = await make_product(session, stock=[5, 3], price=4200)
        channel = f"product:{product.handle}"
        async with Socket.open(base) as sock:
            sub = await sock.subscribe(channel)
            variants = sub["snapshot"]["variants"]
            assert [(v["available"], v["price_cents"]) for v in variants] == [(5, 4200), (3, 4200)]
            first = variants[0]["variant_id"]
            async with hub.runtime.sessionmaker() as session:
                await inventory.reserve(session, first, 2, owner="user:1", source="test", hold_seconds=60)
                await session.commit()
            change = await sock.next("event", channel=channel)
            assert change["event"] == "stock.changed" and change["key"] == f"stock.changed:{first}"
            assert change["data"]["available"] == 3 and change["data"]["on_hand"] == 5

        async with Socket.open(base) as sock:
            missing = await sock.subscribe("product:no-such-product")
            assert missing["type"] == "subscribed" and missing["snapshot"] is None


async def test_a_burst_of_first_subscriptions_all_get_their_messages(settings) -> None:
    """A node's first channels are often opened together (sockets reconnecting after a restart, the chat
    benchmark's first hundred conversations): each of them must get its messages. redis-py's PubSub opens a
    connection per concurrent first call, and only the last one is read."""
    from redis.asyncio import Redis

    redis = Redis.from_url(settings.redis_url)
    backend = RedisSequencedBackend(
        redis, prefix=f"{settings.redis_prefix}-burst", history=10, history_seconds=60
    )
    channels = [f"burst:{i}" for i in range(20)]
    got: set[str] = set()

    async def collect() -> None:
        async for channel, _data in backend.stream_events():
            got.add(channel)
            if len(got) == len(channels):
                return

    try:
        await asyncio.gather(*(backend.subscribe([c]) for c in channels))
        for channel in channels:
            await backend.publish(f"hello {channel}".encode(), [channel])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(collect(), 5)
        assert sorted(got) == sorted(channels), f"no messages on {sorted(set(channels) - got)}"
    finally:
        await backend.on_shutdown()
        await redis.aclose()
