"""Runs the connect/disconnect cycles against a node of its own, in a process of its own, and prints what the
node kept as JSON: the test process hosts other runtimes whose background work would blur the count."""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time

import websockets

from engage.config import load_settings
from engage.platform.migrations import upgrade
from tests.realtime.conftest import serving

PARALLEL = 20


async def _cycles(url: str, worker: int, first: int, count: int) -> None:
    """Each cycle watches a channel of its own and a shared one; every other cycle unsubscribes before it
    leaves, the others just go."""
    for i in range(first, first + count):
        async with websockets.connect(url, compression=None, proxy=None) as ws:
            await ws.recv()  # welcome
            frames = [
                {"type": "subscribe", "id": 1, "channel": f"product:leak-{worker}-{i}"},
                {"type": "subscribe", "id": 2, "channel": "product:shared-leak"},
            ]
            if i % 2:
                frames.append({"type": "unsubscribe", "id": 3, "channel": f"product:leak-{worker}-{i}"})
            for frame in frames:
                await ws.send(json.dumps(frame))
            for _ in frames:
                await ws.recv()


async def _run(url: str, first: int, count: int) -> None:
    per = count // PARALLEL
    await asyncio.gather(*(_cycles(url, w, first, per) for w in range(PARALLEL)))


async def _phase(url: str, first: int, count: int) -> dict[str, float]:
    """Objects and memory blocks the node keeps after `count` cycles, once its channels went idle."""
    gc.collect()
    objects_before, blocks_before = len(gc.get_objects()), sys.getallocatedblocks()
    started = time.monotonic()
    await _run(url, first, count)
    elapsed = time.monotonic() - started
    await asyncio.sleep(1.2)
    await _run(url, first + count, PARALLEL)  # touches the node again, which forgets idle channels
    await asyncio.sleep(0.3)
    gc.collect()
    return {
        "seconds": round(elapsed, 1),
        "objects": len(gc.get_objects()) - objects_before,
        "blocks": sys.getallocatedblocks() - blocks_before,
    }


async def probe(cycles: int, warm_up: int) -> dict[str, object]:
    """Two equal phases after a warm-up. A leak grows in both; a one-off (a periodic job compiling its query
    for the first time, a cache filling) lands in one at most, so the smaller growth is the leak's."""
    # A channel's numbering is kept for resume until it is idle for ENGAGE_CHANNEL_HISTORY_SECONDS; one second
    # here, so that what remains after a phase is what leaks.
    settings = load_settings(channel_history_seconds=1)
    await upgrade(settings.db_url)
    # without its periodic jobs: a job running for the first time in a phase (compiling its queries) is
    # not what a socket leaves behind, and the node now has many of them
    async with serving(settings, periodic_jobs=False) as (base, hub):
        url = base.replace("http", "ws") + "/ws"
        async with asyncio.timeout(300):
            while not gc.get_freeze_count():  # noqa: ASYNC110 - the node froze what it keeps: start-up is over
                await asyncio.sleep(0.2)
        await _run(url, 0, warm_up)
        await asyncio.sleep(0.2)
        gc.collect()
        gc.freeze()  # what exists now is out of the count (and of the collector's way: cheaper cycles)
        half = (cycles - warm_up) // 2
        phases = [await _phase(url, warm_up, half), await _phase(url, warm_up + half + PARALLEL, half)]
        gc.unfreeze()
        return {
            "per_phase": half,
            "phases": phases,
            "objects": min(p["objects"] for p in phases),
            "blocks": min(p["blocks"] for p in phases),
            "stats": hub.stats(),
        }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(probe(int(sys.argv[1]), int(sys.argv[2])))))
