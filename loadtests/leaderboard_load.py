"""Leaderboard load: standings changing 1,000 times a second, watched by 10,000 sockets on one node, beside a
bare fan-out of the same frames in the same run.

  engage   one `engage serve` node in production mode (PostgreSQL + Redis); the watchers subscribe to
           `leaderboard:{id}` over /ws (snapshot, then frames). This process plays the worker whose sinks
           follow the ledger: every event is a standing change through `Leaderboards.record` (the Redis
           sorted set's Lua put, then the top N published: coalesced in the service while a publication is
           out, and by the hub per key, `latest` policy) -> Redis -> the node -> the sockets.
  bare     a bare `websockets` server broadcasting each Redis pub/sub message (loadtests/fanout_servers.py);
           this process sends it frames of the same shape and size at the rate the engage run produced.

Event-to-frame latency: a frame carries `changed_at_ms`, the time of the newest change it includes; latency
is receive time minus that (one machine, one clock). Under a steady stream a change is superseded by newer
ones at once; what a watcher sees lags the newest change by this latency (older changes within the same
coalescing window, 200 ms, are never shown on their own: they were overtaken).

  /work/main/.venv/bin/python loadtests/leaderboard_load.py --watchers 10000 --rate 1000 --seconds 15
  /work/main/.venv/bin/python loadtests/leaderboard_load.py --watchers 2000 --nodes 2   # watchers on two nodes

Loopback only; bounded in count and time; every process, database and key it makes is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import sys
import tempfile
import time
import uuid
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadtests.benchlib import PYTHON as PY  # noqa: E402
from loadtests.benchlib import REDIS as REDIS_URL  # noqa: E402
from loadtests.benchlib import (  # noqa: E402
    _bench_vapid_key,
    cpu_seconds,
    create_database,
    drop_database,
    free_port,
    load_average,
    production_env,
    spawn,
    wait_port,
    wait_quiet,
    wait_ready,
)
from loadtests.benchlib import stop as stop_process  # noqa: E402

CONNECT_CONCURRENCY = 200
CONNECT_SECONDS = 300  # every watcher connected and subscribed within this, or the run stops
SUBSCRIBE_TRIES = 20
QUIET_SECONDS = 3.0
PLAYERS = 5000  # distinct shoppers whose standings change


@dataclass
class Stats:
    latencies: array = field(default_factory=lambda: array("d"))
    delivered: int = 0
    first: float = 0.0
    last: float = 0.0
    lagged: int = 0

    # one watcher's frames: (seconds since the start, latency), to see when the slow ones happen
    timeline: list[tuple[float, float]] = field(default_factory=list)

    def record(self, changed_ms: float, now: float, *, first: bool = False) -> None:
        self.delivered += 1
        self.latencies.append(now - changed_ms / 1000)
        self.last = now
        if first and self.first:
            self.timeline.append((now - self.first, now - changed_ms / 1000))


def changed_at(message: str) -> float | None:
    i = message.find('"changed_at_ms":')
    if i < 0:
        return None
    j = end = i + 16
    while message[end] not in ",}":
        end += 1
    return float(message[j:end])


async def watcher(
    url: str, channel: str | None, stats: Stats, gate: asyncio.Semaphore, connected: list
) -> None:
    async with gate:
        ws = await websockets.connect(url, compression=None, proxy=None, open_timeout=120, ping_interval=None)
        if channel is not None:
            await ws.recv()  # welcome
            await ws.send(json.dumps({"type": "subscribe", "id": 1, "channel": channel}))
            tries = 1
            while (frame := json.loads(await ws.recv())).get("type") != "subscribed":
                if frame.get("type") == "ping":
                    await ws.send('{"type":"pong"}')
                elif frame.get("type") == "error" and tries < SUBSCRIBE_TRIES:  # shed under load: again
                    await asyncio.sleep(0.5 * tries)
                    tries += 1
                    await ws.send(json.dumps({"type": "subscribe", "id": tries, "channel": channel}))
                elif frame.get("type") == "error":
                    raise RuntimeError(f"subscribe refused: {frame}")
    connected.append(ws)
    try:
        while True:
            message = await ws.recv()
            at = changed_at(message) if "leaderboard.standings" in message or channel is None else None
            if at is not None:
                stats.record(at, time.time(), first=connected and connected[0] is ws)
            elif message.startswith('{"type":"ping"'):
                await ws.send('{"type":"pong"}')
            elif message.startswith('{"type":"lagged"'):
                stats.lagged += 1
    except websockets.ConnectionClosed:
        pass


async def connect_all(url: str, channel: str | None, n: int, stats: Stats) -> tuple[list, list]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    connected: list = []
    tasks = [asyncio.create_task(watcher(url, channel, stats, gate, connected)) for _ in range(n)]
    deadline = time.monotonic() + CONNECT_SECONDS
    while len(connected) < n:
        failed = [t for t in tasks if t.done() and t.exception()]
        if failed or time.monotonic() > deadline:
            for task in tasks:
                task.cancel()
            await close_all(connected)
            why = repr(failed[0].exception()) if failed else f"{len(connected)} of {n} in {CONNECT_SECONDS} s"
            raise RuntimeError(f"watchers did not all connect: {why}")
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    return tasks, connected


async def settle_and_close(stats: Stats, tasks: list, connected: list, expected_min: int) -> None:
    last, since = -1, time.monotonic()
    while time.monotonic() - since < QUIET_SECONDS:
        if stats.delivered != last:
            last, since = stats.delivered, time.monotonic()
        await asyncio.sleep(0.1)
    await close_all(connected)
    await asyncio.gather(*tasks, return_exceptions=True)


async def close_all(connected: list) -> None:
    for start in range(0, len(connected), 1000):  # a thousand closing handshakes at a time
        await asyncio.gather(*(ws.close() for ws in connected[start : start + 1000]), return_exceptions=True)


def summary(
    name: str, stats: Stats, watchers: int, events: int, seconds: float, cpu: tuple[float, float]
) -> dict:
    lat = sorted(stats.latencies)
    span = max(stats.last - stats.first, 1e-9)
    return {
        "server": name,
        "watchers": watchers,
        "events": events,
        "events_per_s": events / seconds if events else 0.0,
        "frames_per_watcher": stats.delivered / watchers,
        "deliveries": stats.delivered,
        "deliveries_per_s": stats.delivered / span,
        "p50_ms": 1000 * lat[len(lat) // 2] if lat else float("nan"),
        "p99_ms": 1000 * lat[int(len(lat) * 0.99)] if lat else float("nan"),
        "max_ms": 1000 * lat[-1] if lat else float("nan"),
        "lagged": stats.lagged,
        "slowest_frames_of_one_watcher": [
            {"at_s": round(t, 2), "latency_ms": round(1000 * lat, 1)}
            for t, lat in sorted(stats.timeline, key=lambda x: -x[1])[:5]
        ],
        "server_cpu_s": cpu[0] + cpu[1],
    }


def line(r: dict) -> str:
    return (
        f"{r['server']:>8} watchers={r['watchers']:>6} events {r['events']:>6} ({r['events_per_s']:>6.0f}/s)  "
        f"frames/watcher {r['frames_per_watcher']:>6.1f}  deliveries {r['deliveries']:>8} "
        f"({r['deliveries_per_s']:>7.0f}/s)  event->frame p50 {r['p50_ms']:>6.1f} ms  p99 {r['p99_ms']:>6.1f} ms  "
        f"max {r['max_ms']:>6.1f} ms  server CPU {r['server_cpu_s']:.1f} s"
        + (f"  lagged {r['lagged']}" if r["lagged"] else "")
    )


async def publisher(args: argparse.Namespace) -> None:
    """The worker role, in a process of its own: builds the services on the run's database and Redis
    prefix, makes the board, prints its id, waits for "go" on stdin, then records `rate` changes a second
    for `seconds` and prints how long it took."""
    from engage.config import load_settings
    from engage.leaderboards import Metric, Period, boards
    from engage.wiring import build

    settings = load_settings(
        env="production",
        database_url=args.database_url,
        redis_url=REDIS_URL,
        redis_prefix=args.prefix,
        secret_key="bench-" + "x" * 40,
        payment_provider="stripe",
        stripe_api_key="sk_test_unused",
        log_level="WARNING",
        db_pool_size=5,
        vapid_private_key=_bench_vapid_key(),
    )
    services = build(settings, run_cron=False)
    await services.start()
    try:
        async with services.sessionmaker() as session:
            board = await boards.create(
                session,
                boards.BoardPlan(
                    name="Load board", metric=Metric.points_earned, period=Period.all_time, size=10
                ),
                created_by=None,
            )
        await services.leaderboards.rebuild(board.id)
        print(board.id, flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        gc.freeze()
        values = [0] * (PLAYERS + 1)
        events = int(args.rate * args.seconds)
        started = time.monotonic()
        for n in range(events):
            await asyncio.sleep(max(0.0, started + n / args.rate - time.monotonic()))
            user = random.randint(1, PLAYERS)
            values[user] += random.randint(1, 50)
            await services.leaderboards.record(board.id, "all", user, values[user], int(time.time() * 1000))
        took = time.monotonic() - started
        await services.leaderboards.drain()
        await services.runtime.publisher.drain()
        await services.realtime.publishing.coalescer.drain()
        print(f"{events} {took:.3f}", flush=True)
    finally:
        await services.stop()


async def run_engage(args: argparse.Namespace, workdir: Path) -> tuple[dict, float, int]:
    """The engage run: returns its summary, the frames per second one watcher got, and the frame size."""
    name = f"bench_lb_{uuid.uuid4().hex[:8]}"
    prefix = f"bench-lb-{uuid.uuid4().hex[:8]}"
    url = await create_database(name)
    env = production_env(url, prefix, ENGAGE_RATE_LIMIT_API="0/minute", ENGAGE_DB_POOL_SIZE="10")
    ports = [free_port() for _ in range(args.nodes)]
    nodes = [
        spawn([PY, "-m", "engage.cli", "serve", "--port", str(port)], workdir / f"engage-{n}.log", env)
        for n, port in enumerate(ports)
    ]
    worker = None
    try:
        for port, node in zip(ports, nodes, strict=True):
            await asyncio.to_thread(wait_ready, f"http://127.0.0.1:{port}/ready", 120, node)
        await asyncio.to_thread(wait_quiet, [node.pid for node in nodes])
        worker = await asyncio.create_subprocess_exec(
            PY,
            __file__,
            "--role",
            "publisher",
            "--database-url",
            url,
            "--prefix",
            prefix,
            "--rate",
            str(args.rate),
            "--seconds",
            str(args.seconds),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=str(ROOT),
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert worker.stdout is not None and worker.stdin is not None
        board_id = int((await asyncio.wait_for(worker.stdout.readline(), 180)).decode())
        stats = Stats()
        print(
            f"engage: connecting {args.watchers} watchers to leaderboard:{board_id} on {args.nodes} node(s) ...",
            flush=True,
        )
        tasks, connected = [], []
        for n, port in enumerate(ports):  # the watchers shared out among the nodes
            share = args.watchers // args.nodes + (1 if n < args.watchers % args.nodes else 0)
            more_tasks, more_connected = await connect_all(
                f"ws://127.0.0.1:{port}/ws", f"leaderboard:{board_id}", share, stats
            )
            tasks += more_tasks
            connected += more_connected
        stats.latencies, stats.delivered = array("d"), 0  # the snapshots are not part of the measurement
        gc.freeze()
        cpu_before = [cpu_seconds(node.pid) for node in nodes]
        stats.first = time.time()
        worker.stdin.write(b"go\n")
        await worker.stdin.drain()
        done = (await asyncio.wait_for(worker.stdout.readline(), args.seconds * 10 + 120)).decode().split()
        events, took = int(done[0]), float(done[1])
        await settle_and_close(stats, tasks, connected, events)
        used = [
            tuple(a - b for a, b in zip(cpu_seconds(node.pid), before, strict=True))
            for node, before in zip(nodes, cpu_before, strict=True)
        ]
        cpu = (sum(u[0] for u in used), sum(u[1] for u in used))
        result = summary("engage", stats, args.watchers, events, took, cpu)
        result["publisher_seconds"] = took
        result["nodes"] = args.nodes
        return result, stats.delivered / args.watchers / max(took, 1e-9), 740
    finally:
        if worker is not None and worker.returncode is None:
            worker.kill()
            await worker.wait()
        for node in nodes:
            stop_process(node)
        await drop_database(name, prefix)


async def run_bare(args: argparse.Namespace, workdir: Path, frames_per_s: float, frame_bytes: int) -> dict:
    """The same number of frames per second, of the same size, broadcast by a bare websockets server."""
    port = free_port()
    topic = f"bench-lb-bare-{uuid.uuid4().hex[:8]}"
    server = spawn(
        [PY, str(ROOT / "loadtests" / "fanout_servers.py"), "bare", str(port), REDIS_URL, topic],
        workdir / "bare.log",
    )
    redis = Redis.from_url(REDIS_URL)
    try:
        await asyncio.to_thread(wait_port, port, server)
        await asyncio.sleep(0.5)
        stats = Stats()
        print(f"bare: connecting {args.watchers} watchers ...", flush=True)
        tasks, connected = await connect_all(f"ws://127.0.0.1:{port}", None, args.watchers, stats)
        pad = "x" * max(0, frame_bytes - 80)
        frames = max(1, int(frames_per_s * args.seconds))
        cpu_before = cpu_seconds(server.pid)
        stats.first = time.time()
        started = time.monotonic()
        for n in range(frames):
            await asyncio.sleep(max(0.0, started + n / frames_per_s - time.monotonic()))
            body = f'{{"type":"event","event":"leaderboard.standings","data":{{"n":{n},"top":"{pad}","changed_at_ms":{time.time() * 1000:.3f}}}}}'
            await redis.publish(topic, body)
        took = time.monotonic() - started
        await settle_and_close(stats, tasks, connected, frames)
        cpu = tuple(a - b for a, b in zip(cpu_seconds(server.pid), cpu_before, strict=True))
        result = summary("bare", stats, args.watchers, 0, took, cpu)  # type: ignore[arg-type]
        return result
    finally:
        await redis.aclose()
        stop_process(server)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--watchers", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=1000.0, help="standing changes per second")
    parser.add_argument("--seconds", type=float, default=15.0, help="publishing time")
    parser.add_argument("--nodes", type=int, default=1, help="engage nodes, the watchers shared among them")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--role", choices=["run", "publisher"], default="run", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "publisher":
        await publisher(args)
        return
    if (
        not 1 <= args.watchers <= 20_000
        or not 1 <= args.rate <= 5000
        or not 1 <= args.seconds <= 120
        or not 1 <= args.nodes <= 4
    ):
        parser.error("bounded: 1-20,000 watchers, 1-5,000 events/s, 1-120 s, 1-4 nodes")
    print(f"load average before: {load_average()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="engage-lb-load-") as tmp:
        engage, frames_per_s, frame_bytes = await run_engage(args, Path(tmp))
        print(line(engage), flush=True)
        print(f"  slowest frames of one watcher: {engage['slowest_frames_of_one_watcher']}", flush=True)
        bare = await run_bare(args, Path(tmp), frames_per_s, frame_bytes)
        print(line(bare), flush=True)
    print(
        f"\nframes per watcher per second: {frames_per_s:.2f} (coalesced from {args.rate:.0f} changes/s); "
        f"frame ~{frame_bytes} bytes of standings\n"
        f"engage vs bare: deliveries/s x{engage['deliveries_per_s'] / max(bare['deliveries_per_s'], 1e-9):.2f}, "
        f"p50 x{engage['p50_ms'] / max(bare['p50_ms'], 1e-9):.2f}, p99 x{engage['p99_ms'] / max(bare['p99_ms'], 1e-9):.2f}"
    )
    print(f"load average after: {load_average()}")
    if args.json:
        args.json.write_text(
            json.dumps({"engage": engage, "bare": bare, "frames_per_s": frames_per_s}, indent=2)
        )


if __name__ == "__main__":
    asyncio.run(main())
