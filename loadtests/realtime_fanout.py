"""Fan-out benchmark: N WebSocket subscribers on one node, one publisher, three servers in the same run.

  engage    one `engage serve` node in production mode (Redis); subscribers watch `announcements`, the
            publisher numbers and publishes through Redis exactly as a node or worker does (event sink path)
  bare      a bare `websockets` server broadcasting each Redis pub/sub message with websockets.broadcast()
  socketio  python-socketio (uvicorn) with its Redis manager, emit() to everyone

Every server gets the same publisher (one message every 1/R s, R = offered/N, through Redis) and the same
one-process client (`websockets`, one connection per subscriber), so the ratios compare servers, not
clients. Messages carry the send time; latency is receive time minus send time (one machine, one clock).

  /work/main/.venv/bin/python loadtests/realtime_fanout.py --subscribers 1000,5000,10000 --seconds 10

Loopback only; bounded in count and time; every process it starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import websockets
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engage.platform.channels import RedisSequencedBackend  # noqa: E402
from engage.realtime.frames import event_body  # noqa: E402
from loadtests.benchlib import PYTHON as PY  # noqa: E402
from loadtests.benchlib import REDIS as REDIS_URL  # noqa: E402
from loadtests.benchlib import cpu_seconds, free_port, spawn, wait_port, wait_quiet  # noqa: E402
from loadtests.benchlib import stop as stop_process  # noqa: E402

CHANNEL = "announcements"
CONNECT_CONCURRENCY = 200
QUIET_SECONDS = 3.0
PAD = "x" * 40  # ~100-byte payloads, as in published fan-out figures


@dataclass
class Stats:
    latencies: array = field(default_factory=lambda: array("d"))
    delivered: int = 0
    first_sent: float = 0.0
    last_received: float = 0.0
    lagged: int = 0
    errors: int = 0

    def record(self, sent: float, now: float) -> None:
        self.delivered += 1
        self.latencies.append(now - sent)
        self.last_received = now


def sent_time(message: str) -> float | None:
    i = message.find('"sent":')
    if i < 0:
        return None
    j = i + 7
    end = j
    while message[end] not in ",}":
        end += 1
    return float(message[j:end])


# ---- servers ----------------------------------------------------------------------------------------------


class Server:
    name = ""
    process: subprocess.Popen[bytes]

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.prefix = f"bench-{uuid.uuid4().hex[:8]}"
        self.workdir = workdir
        self.log = workdir / f"{type(self).__name__}.log"

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_process(self.process)

    async def wait_ready(self) -> None:
        try:
            await asyncio.to_thread(wait_port, self.port, self.process)
        except RuntimeError as exc:
            raise RuntimeError(f"{self.name}: {exc}; see {self.log.name}") from None

    async def start(self, redis: Redis) -> None:
        raise NotImplementedError

    async def publish(self, n: int) -> None:
        raise NotImplementedError

    async def handshake(self, ws: websockets.ClientConnection) -> None:
        return None

    async def answer(self, ws: websockets.ClientConnection, message: str, stats: Stats) -> None:
        """Control frames (pings...) a subscriber must answer."""


class Engage(Server):
    name = "engage"

    async def start(self, redis: Redis) -> None:
        env = {
            "ENGAGE_ENV": "development",
            "ENGAGE_DATA_DIR": str(self.workdir / "engage"),
            "ENGAGE_DATABASE_URL": "",
            "ENGAGE_REDIS_URL": REDIS_URL,
            "ENGAGE_REDIS_PREFIX": self.prefix,
            "ENGAGE_DEMO_SEED": "false",
            "ENGAGE_LOG_LEVEL": "WARNING",
            "ENGAGE_RATE_LIMIT_API": "0/minute",
            "ENGAGE_SECRET_KEY": "bench-" + "x" * 40,
        }
        command = os.environ.get("ENGAGE_BENCH_NODE", f"{PY} -m engage.cli serve").split()
        self.process = spawn([*command, "--port", str(self.port)], self.log, env)
        deadline = time.monotonic() + 120
        async with httpx.AsyncClient() as http:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"engage serve exited; see {self.log.name}")
                try:
                    if (await http.get(f"http://127.0.0.1:{self.port}/ready")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("engage serve did not become ready")
                await asyncio.sleep(0.3)
        self.backend = RedisSequencedBackend(redis, prefix=self.prefix, history=500, history_seconds=600)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def publish(self, n: int) -> None:
        data = {"n": n, "text": PAD, "sent": time.time()}
        body = event_body(CHANNEL, "announcement.posted", data, int(time.time() * 1000))
        await self.backend.publish_sequenced([(CHANNEL, body)])

    async def handshake(self, ws: websockets.ClientConnection) -> None:
        await ws.recv()  # welcome
        await ws.send(json.dumps({"type": "subscribe", "id": 1, "channel": CHANNEL}))
        while (frame := json.loads(await ws.recv())).get("type") != "subscribed":
            if frame.get("type") == "ping":
                await ws.send('{"type":"pong"}')

    async def answer(self, ws: websockets.ClientConnection, message: str, stats: Stats) -> None:
        if message.startswith('{"type":"ping"'):
            await ws.send('{"type":"pong"}')
        elif message.startswith('{"type":"lagged"'):
            stats.lagged += 1


class Bare(Server):
    name = "bare websockets"

    async def start(self, redis: Redis) -> None:
        self.redis = redis
        self.topic = f"{self.prefix}:bare"
        self.process = spawn(
            [
                PY,
                str(ROOT / "loadtests" / "fanout_servers.py"),
                "bare",
                str(self.port),
                REDIS_URL,
                self.topic,
            ],
            self.log,
        )
        await self.wait_ready()
        await asyncio.sleep(0.5)  # its Redis subscription

    async def publish(self, n: int) -> None:
        data = {"n": n, "text": PAD, "sent": time.time()}
        body = event_body(CHANNEL, "announcement.posted", data, 0).decode()
        frame = f'{{"epoch":"bench","seq":{n},{body}}}'
        await self.redis.publish(self.topic, frame)


class SocketIO(Server):
    name = "python-socketio"

    async def start(self, redis: Redis) -> None:
        import socketio

        self.topic = f"{self.prefix}:socketio"
        self.process = spawn(
            [
                PY,
                str(ROOT / "loadtests" / "fanout_servers.py"),
                "socketio",
                str(self.port),
                REDIS_URL,
                self.topic,
            ],
            self.log,
        )
        await self.wait_ready()
        self.manager = socketio.AsyncRedisManager(REDIS_URL, channel=self.topic, write_only=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/socket.io/?EIO=4&transport=websocket"

    async def publish(self, n: int) -> None:
        await self.manager.emit("announcement", {"n": n, "text": PAD, "sent": time.time()}, namespace="/")

    async def handshake(self, ws: websockets.ClientConnection) -> None:
        await ws.recv()  # engine.io open
        await ws.send("40")
        while not (await ws.recv()).startswith("40"):
            pass

    async def answer(self, ws: websockets.ClientConnection, message: str, stats: Stats) -> None:
        if message == "2":
            await ws.send("3")


# ---- the client and the run -----------------------------------------------------------------------------


async def subscriber(server: Server, stats: Stats, ready: asyncio.Semaphore, connected: list) -> None:
    async with ready:
        ws = await websockets.connect(
            server.url, compression=None, proxy=None, open_timeout=60, ping_interval=None
        )
        await server.handshake(ws)
    connected.append(ws)
    try:
        while True:
            message = await ws.recv()
            sent = sent_time(message)
            if sent is None:
                await server.answer(ws, message, stats)
            else:
                stats.record(sent, time.time())
    except websockets.ConnectionClosed:
        pass


async def run(server: Server, subscribers: int, offered: int, seconds: float) -> dict:
    await asyncio.to_thread(wait_quiet, [server.process.pid])
    rate = max(1.0, offered / subscribers)
    stats = Stats()
    ready = asyncio.Semaphore(CONNECT_CONCURRENCY)
    connected: list = []
    tasks = [asyncio.create_task(subscriber(server, stats, ready, connected)) for _ in range(subscribers)]
    while len(connected) < subscribers:
        failed = [t for t in tasks if t.done() and t.exception()]
        if failed:
            raise RuntimeError(f"{server.name}: a subscriber failed: {failed[0].exception()!r}")
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)

    messages = int(rate * seconds)
    cpu_before = cpu_seconds(server.process.pid)
    stats.first_sent = time.time()
    started = time.monotonic()
    for n in range(messages):
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
        await server.publish(n)
    expected = messages * subscribers
    last_count, last_change = -1, time.monotonic()
    while stats.delivered < expected and time.monotonic() - last_change < QUIET_SECONDS:
        if stats.delivered != last_count:
            last_count, last_change = stats.delivered, time.monotonic()
        await asyncio.sleep(0.1)
    user, system = (
        after - before for after, before in zip(cpu_seconds(server.process.pid), cpu_before, strict=True)
    )

    for ws in connected:
        await ws.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies = sorted(stats.latencies)
    span = max(stats.last_received - stats.first_sent, 1e-9)
    return {
        "server": server.name,
        "subscribers": subscribers,
        "broadcasts_per_s": rate,
        "expected": expected,
        "delivered": stats.delivered,
        "lagged": stats.lagged,
        "deliveries_per_s": stats.delivered / span,
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else float("nan"),
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else float("nan"),
        "server_user_us_per_delivery": 1e6 * user / max(stats.delivered, 1),
        "server_system_us_per_delivery": 1e6 * system / max(stats.delivered, 1),
    }


def line(result: dict) -> str:
    return (
        f"{result['server']:>16} N={result['subscribers']:>6} R={result['broadcasts_per_s']:>5.1f}/s "
        f"delivered {result['delivered']:>7}/{result['expected']:<7} "
        f"{result['deliveries_per_s']:>8.0f} msg/s  p50 {result['p50_ms']:>7.1f} ms  "
        f"p99 {result['p99_ms']:>7.1f} ms  server CPU/msg {result['server_user_us_per_delivery']:.1f} us user "
        f"+ {result['server_system_us_per_delivery']:.1f} us system"
        + (f"  lagged {result['lagged']}" if result["lagged"] else "")
    )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", default="1000,5000,10000")
    parser.add_argument("--offered", type=int, default=3000, help="offered deliveries per second (N x rate)")
    parser.add_argument("--seconds", type=float, default=10.0, help="publishing time per run")
    parser.add_argument("--servers", default="engage,bare,socketio")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per server and N (the median is reported)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()  # the same event loop for the client of every server
    except ImportError:
        pass

    kinds = {"engage": Engage, "bare": Bare, "socketio": SocketIO}
    sizes = [int(s) for s in args.subscribers.split(",")]
    redis = Redis.from_url(REDIS_URL)
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="engage-fanout-") as tmp:
        servers: list[Server] = []
        for key in args.servers.split(","):
            server = kinds[key](Path(tmp))
            try:
                await server.start(redis)
                servers.append(server)
            except Exception as exc:
                print(f"{key}: not measured ({exc})", flush=True)
                server.stop()
        try:
            # interleaved (every server at one N, then the next N), so a busy neighbour on the machine
            # weighs on all servers alike; each pair (server, N) is run `repeat` times
            for n in sizes:
                for _ in range(args.repeat):
                    for server in servers:
                        result = await run(server, n, args.offered, args.seconds)
                        results.append(result)
                        print(line(result), flush=True)
                        await asyncio.sleep(2)
        finally:
            for server in servers:
                server.stop()
    await redis.aclose()

    print(
        f"\nmedian of {args.repeat} runs; ratios against the bare websockets server (same run, same client):"
    )
    medians = {}
    for n in sizes:
        for server in servers:
            runs = [r for r in results if r["server"] == server.name and r["subscribers"] == n]
            if runs:
                medians[(server.name, n)] = {
                    k: statistics.median(r[k] for r in runs)
                    for k in ("deliveries_per_s", "p50_ms", "p99_ms", "server_user_us_per_delivery")
                }
        bare = medians.get(("bare websockets", n))
        for name in ("engage", "bare websockets", "python-socketio"):
            m = medians.get((name, n))
            if not m:
                continue
            ratio = (
                f"  deliveries/s x{m['deliveries_per_s'] / bare['deliveries_per_s']:.2f}"
                f"  p99 x{m['p99_ms'] / bare['p99_ms']:.2f}"
                if bare and name != "bare websockets"
                else ""
            )
            print(
                f"  N={n:>6} {name:>16}: {m['deliveries_per_s']:>7.0f} msg/s  p50 {m['p50_ms']:>7.1f} ms"
                f"  p99 {m['p99_ms']:>7.1f} ms  server {m['server_user_us_per_delivery']:.1f} us user/msg{ratio}"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
