"""Memory of idle WebSockets: one `engage serve` node in production mode (PostgreSQL + Redis) with N sockets
open on /ws, each subscribed to a public channel and answering the hub's pings, beside a bare `websockets`
server (loadtests/fanout_servers.py) holding the same N sockets, in the same run.

Measured: the server's resident memory (the process and its children, /proc VmRSS) idle before any socket,
then with all N open and settled; memory per socket = the difference / N.

  /work/main/.venv/bin/python loadtests/idle_sockets.py --sockets 10000

Loopback only; bounded (1-20,000 sockets, connecting gives up after 300 s); every process, database and key
it makes is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadtests.benchlib import PYTHON as PY  # noqa: E402
from loadtests.benchlib import REDIS as REDIS_URL  # noqa: E402
from loadtests.benchlib import (  # noqa: E402
    _descendants,
    create_database,
    drop_database,
    free_port,
    load_average,
    production_env,
    spawn,
    wait_port,
    wait_ready,
)
from loadtests.benchlib import stop as stop_process  # noqa: E402

CONNECT_CONCURRENCY = 200
CONNECT_SECONDS = 300
SETTLE_SECONDS = 10  # after the last socket: allocations settle before the figure is read
CHANNEL = "flash-sales"  # a public channel the storefront holds on every page with the sales banner


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its children."""
    total = 0
    for each in _descendants(pid):
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except FileNotFoundError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total


async def hold(url: str, subscribe: bool, gate: asyncio.Semaphore, opened: list[Any]) -> None:
    async with gate:
        # as a browser does, the client offers permessage-deflate; the server decides
        ws = await websockets.connect(url, proxy=None, open_timeout=120, ping_interval=None)
        if subscribe:
            await ws.recv()  # welcome
            await ws.send(json.dumps({"type": "subscribe", "id": 1, "channel": CHANNEL}))
            while (frame := json.loads(await ws.recv())).get("type") != "subscribed":
                if frame.get("type") == "error":
                    raise RuntimeError(f"subscribe refused: {frame}")
    opened.append(ws)
    try:
        async for message in ws:
            if isinstance(message, str) and message.startswith('{"type":"ping"'):
                await ws.send('{"type":"pong"}')
    except websockets.ConnectionClosed:
        pass


async def measure(name: str, pid: int, url: str, sockets: int, subscribe: bool) -> dict[str, Any]:
    await asyncio.sleep(SETTLE_SECONDS)
    idle = rss_kib(pid)
    gate, opened = asyncio.Semaphore(CONNECT_CONCURRENCY), []
    started = time.monotonic()
    tasks = [asyncio.create_task(hold(url, subscribe, gate, opened)) for _ in range(sockets)]
    while len(opened) < sockets:
        failed = [t for t in tasks if t.done() and t.exception()]
        if failed or time.monotonic() - started > CONNECT_SECONDS:
            for task in tasks:
                task.cancel()
            why = (
                repr(failed[0].exception())
                if failed
                else f"{len(opened)} of {sockets} in {CONNECT_SECONDS} s"
            )
            raise RuntimeError(f"{name}: sockets did not all open: {why}")
        await asyncio.sleep(0.1)
    connect_s = time.monotonic() - started
    await asyncio.sleep(SETTLE_SECONDS)
    loaded = rss_kib(pid)
    still_open = sum(1 for ws in opened if ws.state is websockets.protocol.State.OPEN)
    for start in range(0, len(opened), 1000):
        await asyncio.gather(*(ws.close() for ws in opened[start : start + 1000]), return_exceptions=True)
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "server": name,
        "sockets": sockets,
        "idle_rss_mib": idle / 1024,
        "loaded_rss_mib": loaded / 1024,
        "kib_per_socket": (loaded - idle) / sockets,
        "connect_s": connect_s,
        "closed_by_server": sockets - still_open,
    }


async def run_engage(sockets: int, workdir: Path) -> dict[str, Any]:
    name = f"bench_idle_{uuid.uuid4().hex[:8]}"
    prefix = f"bench-idle-{uuid.uuid4().hex[:8]}"
    url = await create_database(name)
    port = free_port()
    node = spawn(
        [PY, "-m", "engage.cli", "serve", "--port", str(port)],
        workdir / "engage.log",
        production_env(url, prefix, ENGAGE_RATE_LIMIT_API="0/minute"),
    )
    try:
        await asyncio.to_thread(wait_ready, f"http://127.0.0.1:{port}/ready", 120, node)
        return await measure("engage", node.pid, f"ws://127.0.0.1:{port}/ws", sockets, subscribe=True)
    finally:
        stop_process(node)
        await drop_database(name, prefix)


async def run_bare(sockets: int, workdir: Path) -> dict[str, Any]:
    port = free_port()
    topic = f"bench-idle-bare-{uuid.uuid4().hex[:8]}"
    server = spawn(
        [PY, str(ROOT / "loadtests" / "fanout_servers.py"), "bare", str(port), REDIS_URL, topic],
        workdir / "bare.log",
    )
    try:
        await asyncio.to_thread(wait_port, port, server)
        return await measure(
            "bare websockets", server.pid, f"ws://127.0.0.1:{port}", sockets, subscribe=False
        )
    finally:
        stop_process(server)


def line(r: dict[str, Any]) -> str:
    return (
        f"{r['server']:>16}  {r['sockets']:>6} sockets  idle {r['idle_rss_mib']:7.1f} MiB  "
        f"with sockets {r['loaded_rss_mib']:7.1f} MiB  {r['kib_per_socket']:6.1f} KiB/socket  "
        f"opened in {r['connect_s']:5.1f} s  closed by the server {r['closed_by_server']}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not 1 <= args.sockets <= 20_000:
        parser.error("bounded: 1-20,000 sockets")
    print(f"load average before: {load_average()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="engage-idle-") as tmp:
        engage = await run_engage(args.sockets, Path(tmp))
        print(line(engage), flush=True)
        bare = await run_bare(args.sockets, Path(tmp))
        print(line(bare), flush=True)
    print(
        f"\nmemory per socket: engage / bare x{engage['kib_per_socket'] / max(bare['kib_per_socket'], 1e-9):.2f}"
    )
    print(f"load average after: {load_average()}")
    if args.json:
        args.json.write_text(json.dumps({"engage": engage, "bare": bare}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
