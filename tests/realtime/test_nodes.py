"""Two `engage serve` nodes sharing PostgreSQL and Redis, spoken to over real sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from commerce.inventory.events import StockChanged
from commerce.orders.events import OrderUpdated
from engage.platform.events import record
from engage.platform.identity import Role
from tests.conftest import PASSWORD, Server, start_server
from tests.realtime.client import Socket

pytestmark = pytest.mark.nodes

HISTORY = 100


@pytest.fixture(scope="module")
def nodes(
    prod_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    env = {**prod_env, "ENGAGE_CHANNEL_HISTORY": str(HISTORY), "ENGAGE_WS_FRAMES_PER_SECOND": "20"}
    log_dir = tmp_path_factory.mktemp("nodes")
    a = start_server(env, log_dir)
    try:
        b = start_server(env, log_dir)
    except Exception:
        a.stop()
        raise
    yield a, b
    a.stop()
    b.stop()


async def announce(node: Server, token: str, text: str) -> dict:
    async with httpx.AsyncClient(base_url=node.url) as http:
        res = await http.post(
            "/api/announcements", json={"text": text}, headers={"Authorization": f"Bearer {token}"}
        )
    assert res.status_code == 201, res.text
    return res.json()


async def socket_token(node: Server, token: str) -> str:
    async with httpx.AsyncClient(base_url=node.url) as http:
        res = await http.post("/api/auth/socket-token", headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 200, res.text
    return res.json()["token"]


async def test_an_event_published_through_node_a_reaches_subscribers_on_node_b(nodes, make_account) -> None:
    a, b = nodes
    marketer = await make_account(Role.marketer)
    async with Socket.open(b.url) as on_b, Socket.open(a.url) as on_a:
        sub_b = await on_b.subscribe("announcements")
        sub_a = await on_a.subscribe("announcements")
        assert sub_b["type"] == sub_a["type"] == "subscribed" and sub_b["policy"] == "reliable"

        posted = await announce(a, marketer.token, "Doors open at nine")

        got_b = await on_b.next("event", channel="announcements")
        got_a = await on_a.next("event", channel="announcements")
        assert got_b["data"] == got_a["data"] == posted
        assert got_b["event"] == "announcement.posted"
        assert got_b["seq"] > sub_b["seq"] and got_b["epoch"] == sub_b["epoch"]
        assert got_b["seq"] == got_a["seq"] and isinstance(got_b["ts"], int)


async def test_stock_changes_recorded_by_another_process_reach_both_nodes_latest_first(
    nodes, runtime
) -> None:
    a, b = nodes
    channel = "product:rt-two-nodes"
    async with Socket.open(a.url) as on_a, Socket.open(b.url) as on_b:
        assert (await on_a.subscribe(channel))["policy"] == "latest"
        await on_b.subscribe(channel)
        async with runtime.sessionmaker() as session:
            for available in (9, 8, 7):
                change = StockChanged(
                    handle="rt-two-nodes",
                    variant_id=1,
                    sku="RT-1",
                    available=available,
                    on_hand=9,
                    previous_available=available + 1,
                )
                record(session, change, [channel])
            await session.commit()
        for sock in (on_a, on_b):
            seen = []
            while not seen or seen[-1] != 7:
                event = await sock.next("event", channel=channel)
                assert event["key"] == "stock.changed:1"
                seen.append(event["data"]["available"])
            assert seen[0] == 9, "the first change of a burst goes out at once"


async def test_a_dropped_client_resumes_with_exactly_the_50_events_it_missed(nodes, make_account) -> None:
    a, b = nodes
    marketer = await make_account(Role.marketer)
    async with Socket.open(b.url) as sock:
        sub = await sock.subscribe("announcements")
        await announce(a, marketer.token, "before the drop")
        seen = await sock.next("event", channel="announcements")
        last = {"epoch": seen["epoch"], "seq": seen["seq"]}
        sock.ws.transport.abort()  # the network goes away, no closing handshake

    texts = [f"missed {i}" for i in range(50)]
    for text in texts:
        await announce(a, marketer.token, text)

    async with Socket.open(b.url) as sock:
        resumed = await sock.subscribe("announcements", since=last)
        assert resumed["recovered"] is True and resumed["snapshot"] is None
        events = resumed["events"]
        assert [e["data"]["text"] for e in events] == texts
        assert [e["seq"] for e in events] == list(range(last["seq"] + 1, last["seq"] + 51))
        assert resumed["seq"] == last["seq"] + 50 and resumed["epoch"] == sub["epoch"]

        await announce(a, marketer.token, "after the resume")
        live = await sock.next("event", channel="announcements")
        assert live["seq"] == resumed["seq"] + 1 and live["data"]["text"] == "after the resume"
        assert not [f for f in sock.backlog if f.get("type") == "event"], "nothing twice"


async def test_a_client_too_far_behind_gets_recovered_false_and_a_fresh_snapshot(nodes, make_account) -> None:
    a, b = nodes
    marketer = await make_account(Role.marketer)
    async with Socket.open(a.url) as sock:
        sub = await sock.subscribe("announcements")
    last = {"epoch": sub["epoch"], "seq": sub["seq"]}
    for i in range(HISTORY + 20):
        await announce(a, marketer.token, f"flood {i}")

    async with Socket.open(b.url) as sock:
        resumed = await sock.subscribe("announcements", since=last)
        assert resumed["recovered"] is False and resumed["events"] == []
        assert resumed["snapshot"]["announcements"][0]["text"] == f"flood {HISTORY + 19}"
        assert resumed["seq"] >= last["seq"] + HISTORY + 20

        # an unknown epoch is as good as too far behind
        stale = await sock.subscribe("announcements", since={"epoch": "gone", "seq": 1})
        assert stale["recovered"] is False and stale["snapshot"]["announcements"]

        await announce(b, marketer.token, "carry on")
        live = await sock.next("event", channel="announcements")
        assert live["seq"] == resumed["seq"] + 1


async def test_a_shopper_watches_only_its_own_user_channel(nodes, make_account, runtime) -> None:
    a, b = nodes
    alice, bob = await make_account(Role.customer), await make_account(Role.customer)
    async with (
        Socket.open(b.url, token=await socket_token(a, alice.token)) as as_alice,
        Socket.open(a.url, token=await socket_token(b, bob.token)) as as_bob,
    ):
        assert as_alice.welcome["user_id"] == alice.id and as_alice.welcome["guest"] is False
        assert (await as_alice.subscribe(f"user:{alice.id}"))["type"] == "subscribed"
        refused = await as_alice.subscribe(f"user:{bob.id}")
        assert refused["type"] == "error" and refused["code"] == "forbidden"
        assert (await as_bob.subscribe(f"user:{bob.id}"))["type"] == "subscribed"

        async with runtime.sessionmaker() as session:
            record(session, _paid(1), [f"user:{alice.id}"])
            record(session, _paid(2), [f"user:{bob.id}"])
            await session.commit()
        assert (await as_alice.next("event"))["data"]["order_id"] == 1
        assert (await as_bob.next("event"))["data"]["order_id"] == 2
        assert not as_alice.backlog and not as_bob.backlog, "nobody sees another shopper's events"


async def test_a_browser_session_cookie_identifies_the_socket(nodes, make_account) -> None:
    a, b = nodes
    shopper = await make_account(Role.customer)
    async with httpx.AsyncClient(base_url=a.url) as browser:
        await browser.get("/api/auth/me")
        res = await browser.post(
            "/api/auth/login",
            json={"email": shopper.email, "password": PASSWORD},
            headers={"x-csrftoken": browser.cookies["engage_csrf"]},
        )
        assert res.status_code == 200
        cookie = f"engage_session={browser.cookies['engage_session']}"
    async with Socket.open(b.url, cookie=cookie, origin=b.url) as sock:
        assert sock.welcome["user_id"] == shopper.id
        assert (await sock.subscribe(f"user:{shopper.id}"))["type"] == "subscribed"


async def test_an_anonymous_socket_gets_public_channels_only(nodes) -> None:
    a, _ = nodes
    async with Socket.open(a.url) as sock:
        assert sock.welcome["user_id"] is None
        assert (await sock.subscribe("product:aud-001"))["type"] == "subscribed"
        assert (await sock.subscribe("announcements"))["type"] == "subscribed"
        refused = await sock.subscribe("user:1")
        assert refused["code"] == "forbidden" and "sign in" in refused["message"]
        left = await sock.request({"type": "unsubscribe", "channel": "product:aud-001"})
        assert left == {"type": "unsubscribed", "id": left["id"], "channel": "product:aud-001"}


async def test_bad_credentials_and_foreign_origins_are_refused_at_the_handshake(nodes) -> None:
    a, _ = nodes
    with pytest.raises(InvalidStatus) as refused:
        async with Socket.open(a.url, token="not-a-real-token"):
            pass
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as refused:
        async with Socket.open(a.url, origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    async with Socket.open(a.url, origin=a.url) as sock:
        assert sock.welcome["type"] == "welcome"


async def test_malformed_and_oversized_frames_get_error_frames_not_a_crash(nodes) -> None:
    a, _ = nodes
    async with Socket.open(a.url) as sock:
        cases = [
            ("not json", "bad_frame"),
            ("[1, 2]", "bad_frame"),
            (json.dumps({"type": 5}), "bad_frame"),
            (json.dumps({"type": "subscribe"}), "invalid_frame"),
            (json.dumps({"type": "subscribe", "channel": 7}), "invalid_frame"),
            (json.dumps({"type": "subscribe", "channel": "Not A Channel!"}), "bad_channel"),
            (json.dumps({"type": "subscribe", "channel": "nosuchkind:1"}), "unknown_channel"),
            (
                json.dumps({"type": "subscribe", "channel": "announcements", "since": {"seq": -1}}),
                "invalid_frame",
            ),
            (json.dumps({"type": "nosuch.thing"}), "unknown_type"),
            (json.dumps({"type": "ping", "id": {"deep": 1}}), "invalid_frame"),
            (json.dumps({"type": "ping", "pad": "x" * 20_000}), "frame_too_large"),
        ]
        for raw, code in cases:
            await sock.send(raw)
            error = await sock.next("error")
            assert error["code"] == code, (raw[:60], error)
            assert error["message"]
        await sock.ws.send(b"\x00\x01binary")
        assert (await sock.next("error"))["code"] == "bad_frame"
        assert (await sock.request({"type": "ping"}))["type"] == "pong", "the socket still works"

    async with Socket.open(a.url) as sock:
        await sock.send(json.dumps({"type": "ping", "pad": "x" * 200_000}))  # past the transport's limit
        with pytest.raises(ConnectionClosed) as closed:
            await sock.next("pong")
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


async def test_too_many_frames_per_second_are_throttled_and_a_flood_is_cut_off(nodes) -> None:
    a, _ = nodes
    async with Socket.open(a.url) as sock:
        for _ in range(60):  # a burst of 40 passes at 20 frames/s
            await sock.send({"type": "ping", "id": 1})
        throttled = await sock.next("error")
        assert throttled["code"] == "throttled" and throttled["retry_after_ms"] > 0
        await asyncio.sleep(throttled["retry_after_ms"] / 1000 + 0.2)
        pongs = sum(1 for f in sock.backlog if f.get("type") == "pong")
        assert 0 < pongs < 60
        assert (await sock.request({"type": "ping"}))["type"] == "pong", "it recovers once the client slows"

    async with Socket.open(a.url) as sock:
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(2000):
                await sock.send({"type": "ping"})
            await sock.next("never")
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_the_socket_door_serves_websocket_clients_of_any_library(nodes) -> None:
    """Plain `websockets` without our helper: the welcome frame, then JSON both ways. Offered
    permessage-deflate (as browsers offer it), the server declines: frames go uncompressed."""
    a, _ = nodes
    async with websockets.connect(a.url.replace("http", "ws") + "/ws", compression="deflate") as ws:
        assert ws.protocol.extensions == []
        welcome = json.loads(await ws.recv())
        assert welcome["type"] == "welcome" and welcome["limits"]["frames_per_second"] == 20
        await ws.send(json.dumps({"type": "subscribe", "id": "s1", "channel": "product:aud-002"}))
        reply = json.loads(await ws.recv())
        assert reply["id"] == "s1" and reply["recovered"] is False and reply["seq"] >= 0


def _paid(order_id: int) -> OrderUpdated:
    return OrderUpdated(
        order_id=order_id,
        number=f"RT-{order_id}",
        status="paid",
        total_cents=1000,
        refunded_cents=0,
        currency="USD",
        tracking_number=None,
        carrier=None,
        expected_delivery=None,
    )
