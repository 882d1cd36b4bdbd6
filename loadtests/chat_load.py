"""Live chat under load on one node: N conversations, a shopper socket and an agent socket each, one message per
`--interval` seconds (1) per side, beside a bare `websockets` relay driven by the same client in the same run.

    /work/main/.venv/bin/python loadtests/chat_load.py                              # 1,000 conversations, 60 s
    /work/main/.venv/bin/python loadtests/chat_load.py --conversations 200 --seconds 20
    /work/main/.venv/bin/python loadtests/chat_load.py --seconds 300 --interval 5  # 1,000 for 5 min, 400 msg/s

What runs (all on 127.0.0.1; stopped and removed at the end, scratch database and Redis keys included):
- `engage serve` (one worker) in production mode on a scratch PostgreSQL database and a Redis prefix, rate
  limits raised (`ENGAGE_RATE_LIMIT_API`, `ENGAGE_CHAT_RATE_LIMIT`: one agent account sends for many
  conversations). No `engage worker`: conversations are started for a human (the widget's `human: true`),
  so the bot never takes part; the jobs chat enqueues meanwhile (none of which delivers messages) wait in
  Redis and are removed with the prefix.
- Setup as browsers do it, over HTTP: each shopper gets a guest session (`GET /api/auth/me`) and starts a
  conversation (`POST /api/chat/conversations {"human": true}`); `--agents` agent accounts (created in the
  database) sign in and take the conversations round robin (`POST .../take`: manual assignment may exceed
  an agent's capacity, so no capacity setting is needed and the dispatcher stays out of it). Each socket
  signs in with its browser's session cookie, as the widget and the console do.
- The baseline: `loadtests/fanout_servers.py relay`, a bare `websockets` server under the same event loop
  (uvloop) that numbers each `chat.send` per conversation, acknowledges it and sends it to both sockets of
  the conversation (as Engage sends a message to both conversation channels), storing nothing.
- The client (one asyncio process, uvloop): per conversation a shopper socket watching `conversation:{id}`
  and an agent socket watching `conversation-staff:{id}`; each sends `chat.send` (with a client id) every
  `--interval` s for `--seconds`, without waiting for acks (open loop: a slow server shows as latency, not as a
  lower offered rate).

Measured per server: delivery latency (the send of a frame to the other side's socket receiving it),
p50/p95/p99; ack latency; lost (acked but never delivered to the other side, even after a final
resubscribe with `since`: what only that brought is reported as "not delivered live"; a side whose
resubscribe an overloaded node does not answer within 120 s, and acks that came after the resubscribe, are
"unverified", neither seen nor lost), unacked,
out-of-order (an event whose `seq` is not the channel's next, or a side's messages arriving out of their
send order), `lagged` frames (a lagged socket resubscribes with `since`, as clients must, and what it
recovers counts as delivered, late), error frames, sockets the server closed; server CPU. For Engage, the
stored messages are counted in the database and compared with the acks. Ratios: Engage / relay.

After sending, the run waits until every acked message arrived, or nothing arrived for 15 s, or 60 s passed.
ENGAGE_BENCH_PROFILE=file.prof runs the node under cProfile; --logs DIR keeps the servers' logs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadtests.benchlib import (  # noqa: E402
    PYTHON,
    cpu_seconds,
    create_database,
    drop_database,
    free_port,
    load_average,
    production_env,
    spawn,
    stop,
    wait_quiet,
    wait_ready,
)

PASSWORD = "bench-agent-password"
CONNECT_CONCURRENCY = 100
SETUP_CONCURRENCY = 16
QUIET_SECONDS = 15.0  # after sending: stop waiting once nothing arrived for this long
CHECK_SECONDS = 120  # the final resubscribe of every side that misses acked messages: how long to wait
DRAIN_SECONDS = 60.0  # and at the latest after this long
decode = msgspec.json.decode


@dataclass
class Stats:
    latencies: array = field(default_factory=lambda: array("d"))
    ack_latencies: array = field(default_factory=lambda: array("d"))
    sent: int = 0
    acked: int = 0
    delivered: int = 0
    out_of_order: int = 0
    duplicates: int = 0
    lagged: int = 0
    errors: int = 0
    error_sample: str = ""
    last_activity: float = 0.0
    checking: bool = False  # the final resubscribe: what comes now was not delivered live
    recovered: int = 0
    closing: bool = False
    dropped: int = 0  # sockets the server closed (e.g. 1011 keepalive ping timeout)
    drop_sample: str = ""


class Side:
    """One socket of one conversation: sends its numbered messages, checks what the channel brings."""

    def __init__(self, stats: Stats, sent_at: dict[str, float], cid: int, role: str, channel: str) -> None:
        self.stats, self.sent_at = stats, sent_at
        self.cid, self.role, self.channel = cid, role, channel
        self.other_role = "a" if role == "s" else "s"
        self.ws: Any = None
        self.epoch = "chat"
        self.last_seq = 0
        self.last_from_other = -1
        self.received: set[int] = set()  # the other side's message numbers seen here
        self.acked: set[int] = set()
        self.resubscribe = False  # lagged: resubscribe with `since`
        self.resubscribing = False  # sent; the answer brings what was missed
        self.pong = False

    def client_id(self, n: int) -> str:
        return f"{self.role}{self.cid}-{n}"

    async def open(self, url: str, cookie: str | None) -> None:
        headers = {"Cookie": cookie} if cookie else None
        self.ws = await websockets.connect(
            url,
            additional_headers=headers,
            compression=None,
            proxy=None,
            open_timeout=120,
            ping_interval=None,  # the server pings; the client answers by itself
            max_queue=None,  # never push back on the server: its queues are what is measured
        )
        welcome = decode(await self.ws.recv())
        assert welcome["type"] == "welcome", welcome
        await self.ws.send(json.dumps({"type": "subscribe", "id": 0, "channel": self.channel}))
        while (frame := decode(await self.ws.recv()))["type"] != "subscribed":
            if frame["type"] == "ping":
                await self.ws.send('{"type":"pong"}')
            elif frame["type"] == "error":
                raise RuntimeError(f"{self.channel}: {frame}")
        self.epoch, self.last_seq = frame["epoch"], frame["seq"]

    async def send_loop(self, start: float, messages: int, interval: float) -> None:
        text = "x" * 40  # ~100-byte frames
        for n in range(messages):
            delay = start + n * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            client_id = self.client_id(n)
            frame = {
                "type": "chat.send",
                "id": n,
                "conversation_id": self.cid,
                "text": f"{n} {text}",
                "client_id": client_id,
            }
            self.sent_at[client_id] = time.perf_counter()
            self.stats.sent += 1
            try:
                await self.ws.send(json.dumps(frame))
            except websockets.ConnectionClosed:
                return

    async def receive_loop(self) -> None:
        try:
            async for raw in self.ws:
                self.on_frame(decode(raw), time.perf_counter())
                if self.pong:
                    self.pong = False
                    await self.ws.send('{"type":"pong"}')
                if self.resubscribe:
                    self.resubscribe, self.resubscribing = False, True
                    since = {"epoch": self.epoch, "seq": self.last_seq}
                    frame = {"type": "subscribe", "id": -1, "channel": self.channel, "since": since}
                    await self.ws.send(json.dumps(frame))
        except websockets.ConnectionClosed as exc:
            if not self.stats.closing:
                self.stats.dropped += 1
                self.stats.drop_sample = self.stats.drop_sample or str(exc)

    def on_frame(self, frame: dict[str, Any], now: float) -> None:
        stats = self.stats
        stats.last_activity = now
        kind = frame.get("type")
        if kind == "event":
            if frame.get("event") == "chat.message" and not self.resubscribing:
                self.on_message(frame["data"], now)
        elif kind == "reply" and frame.get("for") == "chat.send":
            client_id = frame["data"]["client_id"]
            n = int(client_id.rsplit("-", 1)[1])
            if n not in self.acked:
                self.acked.add(n)
                stats.acked += 1
                stats.ack_latencies.append(now - self.sent_at[client_id])
        elif kind == "lagged":
            stats.lagged += 1
            self.resubscribe = True  # receive_loop sends it
        elif kind == "subscribed":
            self.resubscribing = False
            for event in frame.get("events") or []:
                self.on_message(event["data"], now)
            snapshot = frame.get("snapshot")
            if not frame.get("recovered") and snapshot:
                for message in snapshot["messages"]:
                    if message["seq"] > self.last_seq:
                        self.on_message({"seq": message["seq"], "message": message}, now)
        elif kind == "ping":
            self.pong = True  # receive_loop sends it
        elif kind == "error":
            stats.errors += 1
            stats.error_sample = stats.error_sample or json.dumps(frame)

    def on_message(self, data: dict[str, Any], now: float) -> None:
        stats = self.stats
        seq = data["seq"]
        if seq <= self.last_seq:
            stats.duplicates += 1
            return
        if seq != self.last_seq + 1:
            stats.out_of_order += 1
        self.last_seq = seq
        client_id = data["message"].get("client_id") or ""
        if not client_id.startswith(self.other_role):
            return  # our own message, or an event of the conversation
        n = int(client_id.rsplit("-", 1)[1])
        if n in self.received:
            stats.duplicates += 1
            return
        if n < self.last_from_other:
            stats.out_of_order += 1
        self.last_from_other = max(self.last_from_other, n)
        self.received.add(n)
        if stats.checking:
            stats.recovered += 1
            return
        stats.delivered += 1
        stats.latencies.append(now - self.sent_at[client_id])


@dataclass
class Conversation:
    cid: int
    shopper_cookie: str | None
    agent_cookie: str | None


# ---- the servers -------------------------------------------------------------------------------------------


class Relay:
    name = "bare websockets relay"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()

    async def start(self) -> None:
        self.process = spawn(
            [PYTHON, str(ROOT / "loadtests" / "fanout_servers.py"), "relay", str(self.port)],
            self.workdir / "relay.log",
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.2)
        raise RuntimeError("the relay did not start")

    async def conversations(self, n: int) -> list[Conversation]:
        return [Conversation(cid, None, None) for cid in range(1, n + 1)]

    def url(self, conversation: Conversation) -> str:
        return f"ws://127.0.0.1:{self.port}/?c={conversation.cid}"

    def channels(self, conversation: Conversation) -> tuple[str, str]:
        return f"conversation:{conversation.cid}", f"conversation:{conversation.cid}"

    async def stored(self, ids: list[int]) -> dict[int, int] | None:
        return None

    def stop(self) -> None:
        stop(self.process)


class Engage:
    name = "engage"

    def __init__(
        self, workdir: Path, agents: int, chat_rate_limit: str, extra_env: dict[str, str], workers: int = 1
    ) -> None:
        self.extra_env = extra_env
        self.workers = workers
        self.name = "engage" if workers == 1 else f"engage ({workers} workers)"
        self.workdir = workdir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        run_id = uuid.uuid4().hex[:8]
        self.db_name, self.prefix = f"engage_bench_chat_{run_id}", f"engage-bench-chat-{run_id}"
        self.agents = agents
        self.chat_rate_limit = chat_rate_limit
        self.process = None
        self.created = False

    async def start(self) -> None:
        self.db_url = await create_database(self.db_name)
        self.created = True
        self.agent_emails = await self._create_agents()
        env = production_env(
            self.db_url,
            self.prefix,
            ENGAGE_RATE_LIMIT_API="10000000/minute",
            ENGAGE_CHAT_RATE_LIMIT=self.chat_rate_limit,
            **self.extra_env,
        )
        # ENGAGE_BENCH_PROFILE=file.prof: the node runs under cProfile (written when it stops)
        profile = os.environ.get("ENGAGE_BENCH_PROFILE")
        python = [PYTHON, "-m", "cProfile", "-o", profile] if profile else [PYTHON]
        self.process = spawn(
            [*python, "-m", "engage.cli", "serve", "--port", str(self.port), "--workers", str(self.workers)],
            self.workdir / "engage.log",
            env,
        )
        await asyncio.to_thread(wait_ready, f"{self.base}/ready", 120, self.process)

    async def _create_agents(self) -> list[str]:
        from engage.auth import service as accounts
        from engage.platform.db import make_engine, make_sessionmaker
        from engage.platform.identity import Role

        engine = make_engine(self.db_url)
        emails = []
        try:
            async with make_sessionmaker(engine)() as session:
                for i in range(self.agents):
                    email = f"agent{i}@bench.example"
                    await accounts.create_user(
                        session, email=email, password=PASSWORD, role=Role.agent, name=f"Agent {i}"
                    )
                    emails.append(email)
        finally:
            await engine.dispose()
        return emails

    @staticmethod
    async def _browser(base: str) -> httpx.AsyncClient:
        http = httpx.AsyncClient(base_url=base, timeout=120)
        for attempt in range(30):
            try:
                res = await http.get("/api/auth/me")
            except httpx.TransportError:
                if attempt == 29:
                    raise
                await asyncio.sleep(1)
                continue
            if res.status_code != 503:
                break
            await asyncio.sleep(1)
        res.raise_for_status()
        return http

    @classmethod
    async def _post(cls, http: httpx.AsyncClient, path: str, body: Any = None) -> Any:
        """POST as a browser would, retrying while the server answers 503 (the shared PostgreSQL may be
        short of connections: other test suites use it too)."""
        for _ in range(30):
            try:
                res = await http.post(path, json=body, headers=cls._csrf(http))
            except httpx.TransportError:  # a connection the busy server dropped: like a browser, again
                await asyncio.sleep(1)
                continue
            if res.status_code != 503:
                break
            await asyncio.sleep(1)
        if res.status_code >= 400:
            raise RuntimeError(f"POST {path}: {res.status_code} {res.text}")
        return res.json()

    @staticmethod
    def _csrf(http: httpx.AsyncClient) -> dict[str, str]:
        return {"x-csrftoken": http.cookies["engage_csrf"]}

    async def conversations(self, n: int) -> list[Conversation]:
        agents = []
        for email in self.agent_emails:
            http = await self._browser(self.base)
            await self._post(http, "/api/auth/login", {"email": email, "password": PASSWORD})
            agents.append(http)
        limit = asyncio.Semaphore(SETUP_CONCURRENCY)

        async def one(i: int) -> Conversation:
            async with limit:
                shopper = await self._browser(self.base)
                try:
                    started = await self._post(shopper, "/api/chat/conversations", {"human": True})
                    cid = started["conversation"]["id"]
                    agent = agents[i % len(agents)]
                    await self._post(agent, f"/api/chat/conversations/{cid}/take")
                    return Conversation(
                        cid,
                        f"engage_session={shopper.cookies['engage_session']}",
                        f"engage_session={agent.cookies['engage_session']}",
                    )
                finally:
                    await shopper.aclose()

        try:
            return list(await asyncio.gather(*(one(i) for i in range(n))))
        finally:
            for http in agents:
                await http.aclose()

    def url(self, conversation: Conversation) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def channels(self, conversation: Conversation) -> tuple[str, str]:
        return f"conversation:{conversation.cid}", f"conversation-staff:{conversation.cid}"

    async def stored(self, ids: list[int]) -> dict[int, int]:
        """Messages (not events or notes) in the database, per conversation."""
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(self.db_url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    text(
                        "SELECT conversation_id, count(*) FROM chat_messages "
                        "WHERE kind = 'message' AND conversation_id = ANY(:ids) GROUP BY conversation_id"
                    ),
                    {"ids": ids},
                )
                return {int(cid): int(count) for cid, count in rows}
        finally:
            await engine.dispose()

    def stop(self) -> None:
        if self.process is not None:
            if os.environ.get("ENGAGE_BENCH_PROFILE"):
                # uvicorn re-raises SIGTERM after shutting down; cProfile writes its file on SIGINT
                self.process.send_signal(signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(60)
            stop(self.process)

    async def drop(self) -> None:
        if self.created:
            await drop_database(self.db_name, self.prefix)


# ---- the run ------------------------------------------------------------------------------------------------


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(server: Relay | Engage, n: int, seconds: int, interval: float = 1.0) -> dict[str, Any]:
    await asyncio.to_thread(wait_quiet, [server.process.pid])
    setup_started = time.monotonic()
    convs = await server.conversations(n)
    setup_seconds = time.monotonic() - setup_started
    stats = Stats()
    sent_at: dict[str, float] = {}
    sides: list[Side] = []
    pairs: list[tuple[Side, Side]] = []
    for c in convs:
        shopper_channel, agent_channel = server.channels(c)
        pair = (
            Side(stats, sent_at, c.cid, "s", shopper_channel),
            Side(stats, sent_at, c.cid, "a", agent_channel),
        )
        pairs.append(pair)
        sides += pair
    connect = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def open_pair(c: Conversation, pair: tuple[Side, Side]) -> None:
        async with connect:
            await pair[0].open(server.url(c), c.shopper_cookie)
            await pair[1].open(server.url(c), c.agent_cookie)

    connect_started = time.monotonic()
    await asyncio.gather(*(open_pair(c, p) for c, p in zip(convs, pairs, strict=True)))
    connect_seconds = time.monotonic() - connect_started
    receivers = [asyncio.create_task(side.receive_loop()) for side in sides]
    await asyncio.sleep(1.0)

    rng = random.Random(n)
    start = time.perf_counter() + 0.5
    cpu_before, client_before = cpu_seconds(server.process.pid), client_cpu()
    load_before = load_average()
    messages = max(1, round(seconds / interval))
    await asyncio.gather(
        *(side.send_loop(start + rng.random() * interval, messages, interval) for side in sides)
    )
    sending = time.perf_counter() - start
    drain_started = time.perf_counter()
    while time.perf_counter() - drain_started < DRAIN_SECONDS:
        if stats.acked == stats.sent and stats.delivered >= stats.acked:
            break
        if time.perf_counter() - stats.last_activity > QUIET_SECONDS:
            break
        await asyncio.sleep(0.1)
    elapsed = time.perf_counter() - start
    user, system = (a - b for a, b in zip(cpu_seconds(server.process.pid), cpu_before, strict=True))
    client = client_cpu() - client_before
    load_after = load_average()
    # the final check: a side that misses acked messages resubscribes with `since` (as a client does after a
    # reconnect); what the answer brings was stored but not delivered live within the window
    missing_live = sum(len(a.acked - b.received) + len(b.acked - a.received) for a, b in pairs)
    # what is checked: the acks so far (an overloaded node still acks its backlog after the resubscribe)
    checked = {id(side): set(side.acked) for side in sides}
    stats.checking = True
    for shopper, agent in pairs:
        for sender, receiver in ((shopper, agent), (agent, shopper)):
            if sender.acked - receiver.received:
                since = {"epoch": receiver.epoch, "seq": receiver.last_seq}
                frame = {"type": "subscribe", "id": -2, "channel": receiver.channel, "since": since}
                try:
                    await receiver.ws.send(json.dumps(frame))
                    receiver.resubscribing = True
                except websockets.ConnectionClosed:
                    pass  # closed by the server: counted as dropped
    for _ in range(CHECK_SECONDS * 10):  # an overloaded node answers late: its backlog comes first
        if not any(side.resubscribing for side in sides):
            break
        await asyncio.sleep(0.1)
    unanswered = {id(side) for side in sides if side.resubscribing}
    stats.closing = True
    for side in sides:
        await side.ws.close()
    await asyncio.gather(*receivers, return_exceptions=True)

    lost, unverified, lost_sample = 0, 0, []
    for shopper, agent in pairs:
        for sender, receiver in ((shopper, agent), (agent, shopper)):
            missing = checked[id(sender)] - receiver.received
            late = len(sender.acked - checked[id(sender)] - receiver.received)
            if id(receiver) in unanswered:  # the resubscribe got no answer in time: neither seen nor lost
                unverified += len(missing) + late
                continue
            unverified += late
            lost += len(missing)
            if missing and len(lost_sample) < 5:
                lost_sample.append(
                    f"{receiver.channel} (seen up to seq {receiver.last_seq}) misses {sorted(missing)} "
                    f"of {sender.role} (sent {len(sender.acked)})"
                )
    acked_per_conversation = {s.cid: len(s.acked) + len(a.acked) for s, a in pairs}
    stored = await server.stored([c.cid for c in convs])
    db_missing = db_extra = None
    if stored is not None:
        db_missing = sum(max(0, acked - stored.get(cid, 0)) for cid, acked in acked_per_conversation.items())
        db_extra = sum(max(0, stored.get(cid, 0) - acked) for cid, acked in acked_per_conversation.items())

    def pct(values: array, p: float) -> float:
        ordered = sorted(values)
        return 1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")

    return {
        "server": server.name,
        "conversations": n,
        "seconds": seconds,
        "interval_s": interval,
        "setup_s": setup_seconds,
        "connect_s": connect_seconds,
        "sent": stats.sent,
        "acked": stats.acked,
        "unacked": stats.sent - stats.acked,
        "delivered": stats.delivered,
        "lost": lost,
        "unverified": unverified,
        "not_delivered_live": missing_live,
        "recovered_on_resubscribe": stats.recovered,
        "lost_sample": lost_sample,
        "dropped_sockets": stats.dropped,
        "drop_sample": stats.drop_sample,
        "out_of_order": stats.out_of_order,
        "duplicates": stats.duplicates,
        "lagged": stats.lagged,
        "errors": stats.errors,
        "error_sample": stats.error_sample,
        "db_stored": sum(stored.values()) if stored is not None else None,
        "db_acked_not_stored": db_missing,
        "db_stored_not_acked": db_extra,
        "msgs_per_s": stats.delivered / max(elapsed, 1e-9),
        "sending_s": sending,
        "drain_s": elapsed - sending,
        "p50_ms": pct(stats.latencies, 0.50),
        "p95_ms": pct(stats.latencies, 0.95),
        "p99_ms": pct(stats.latencies, 0.99),
        "max_ms": pct(stats.latencies, 1.0),
        "ack_p50_ms": pct(stats.ack_latencies, 0.50),
        "ack_p95_ms": pct(stats.ack_latencies, 0.95),
        "server_cpu_pct": 100 * (user + system) / max(elapsed, 1e-9),
        "server_cpu_us_per_msg": 1e6 * (user + system) / max(stats.acked, 1),
        "client_cpu_pct": 100 * client / max(elapsed, 1e-9),
        "load": f"{load_before} -> {load_after}",
    }


def print_table(results: list[dict[str, Any]]) -> None:
    head = (
        f"{'conv':>5} {'server':<22} {'sent':>7} {'acked':>7} {'deliv':>7} {'lost':>5} {'unack':>5} {'ooo':>4} "
        f"{'lag':>4} {'err':>4} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'ack p95':>8} {'srv CPU':>8} {'cli CPU':>8}"
    )
    print(head)
    for r in results:
        print(
            f"{r['conversations']:>5} {r['server']:<22} {r['sent']:>7} {r['acked']:>7} {r['delivered']:>7} "
            f"{r['lost']:>5} {r['unacked']:>5} {r['out_of_order']:>4} {r['lagged']:>4} {r['errors']:>4} "
            f"{r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['ack_p95_ms']:>8.1f} "
            f"{r['server_cpu_pct']:>7.0f}% {r['client_cpu_pct']:>7.0f}%"
        )
    by_n: dict[int, dict[str, dict[str, Any]]] = {}
    for r in results:
        by_n.setdefault(r["conversations"], {})[r["server"]] = r
    for n, pair in by_n.items():
        e = next((r for name, r in pair.items() if name.startswith(Engage.name)), None)
        b = pair.get(Relay.name)
        if e and b:
            print(
                f"{n:>5} {'ratio engage / relay':<22} {'':>7} {'':>7} {e['delivered'] / max(b['delivered'], 1):>7.2f} "
                f"{'':>5} {'':>5} {'':>4} {'':>4} {'':>4} {e['p50_ms'] / b['p50_ms']:>8.1f} "
                f"{e['p95_ms'] / b['p95_ms']:>8.1f} {e['p99_ms'] / b['p99_ms']:>8.1f} "
                f"{e['ack_p95_ms'] / b['ack_p95_ms']:>8.1f} "
                f"{e['server_cpu_us_per_msg'] / b['server_cpu_us_per_msg']:>7.1f}x"
            )
    for r in results:
        extra = ""
        if r["db_stored"] is not None:
            extra = (
                f"; database: {r['db_stored']} messages stored, {r['db_acked_not_stored']} acked but not stored, "
                f"{r['db_stored_not_acked']} stored but not acked"
            )
        print(
            f"  {r['server']} N={r['conversations']}: setup {r['setup_s']:.0f} s, connect {r['connect_s']:.0f} s, "
            f"sending {r['sending_s']:.0f} s + drain {r['drain_s']:.1f} s, {r['msgs_per_s']:.0f} deliveries/s, "
            f"p99 {r['p99_ms']:.0f} ms, max {r['max_ms']:.0f} ms, ack p50 {r['ack_p50_ms']:.1f} ms, "
            f"server {r['server_cpu_us_per_msg']:.0f} us CPU per message, duplicates {r['duplicates']}, "
            f"sockets closed by the server {r['dropped_sockets']} {r['drop_sample']}, "
            f"acked but not delivered live {r['not_delivered_live']} (of which {r['recovered_on_resubscribe']} "
            f"came with a resubscribe; {r['unverified']} unverified: acked after the resubscribe, or it went "
            f"unanswered for {CHECK_SECONDS} s), "
            f"load {r['load']}{extra}"
            + (f"; first error: {r['error_sample']}" if r["error_sample"] else "")
            + (f"; lost, e.g.: {'; '.join(r['lost_sample'])}" if r["lost_sample"] else "")
        )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", default="1000", help="comma-separated: one run per size")
    parser.add_argument("--seconds", type=int, default=60, help="sending time per run")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between a side's messages")
    parser.add_argument("--agents", type=int, default=10, help="agent accounts sharing the conversations")
    parser.add_argument("--servers", default="relay,engage")
    parser.add_argument("--workers", type=int, default=1, help="`engage serve --workers` of the Engage node")
    parser.add_argument("--chat-rate-limit", default="1000000/10", help="ENGAGE_CHAT_RATE_LIMIT for Engage")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="more settings for Engage"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--logs", type=Path, help="keep the servers' logs in this directory")
    args = parser.parse_args()
    sizes = [int(s) for s in args.conversations.split(",")]
    extra_env = dict(item.split("=", 1) for item in args.env)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="engage-chat-bench-") as tmp:
        workdir = args.logs or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for n in sizes:
            # a fresh server per size (a fresh database for Engage), the relay first
            for key in args.servers.split(","):
                server: Relay | Engage = (
                    Relay(workdir)
                    if key == "relay"
                    else Engage(workdir, args.agents, args.chat_rate_limit, extra_env, args.workers)
                )
                try:
                    await server.start()
                    result = await run(server, n, args.seconds, args.interval)
                    results.append(result)
                    print(
                        f"{server.name} N={n}: p50 {result['p50_ms']:.1f} ms p95 {result['p95_ms']:.1f} ms "
                        f"p99 {result['p99_ms']:.1f} ms lost {result['lost']} out-of-order {result['out_of_order']}",
                        flush=True,
                    )
                finally:
                    server.stop()
                    if isinstance(server, Engage):
                        await server.drop()
                await asyncio.sleep(2)
    print()
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
