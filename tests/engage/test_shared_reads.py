"""SharedRead: concurrent callers share reads, and none gets a value read before it asked."""

from __future__ import annotations

import asyncio

from engage.platform.shared_reads import SharedRead


async def test_callers_share_reads_and_never_get_one_that_started_before_they_asked() -> None:
    written, reads = 0, 0

    async def read() -> int:
        nonlocal reads
        reads += 1
        value = written  # what was written when this read started
        await asyncio.sleep(0.01)
        return value

    shared = SharedRead(read)

    async def caller() -> tuple[int, int]:
        nonlocal written
        written += 1  # a write just before asking: the answer must include it
        asked = written
        return asked, await shared()

    answers = []
    for _ in range(5):
        answers += await asyncio.gather(*(caller() for _ in range(40)))
        await asyncio.sleep(0)
    assert all(seen >= asked for asked, seen in answers)
    assert reads <= 10  # 200 callers, at most two reads per burst


async def test_a_failed_read_fails_its_callers_and_the_next_call_reads_again() -> None:
    outcomes = [RuntimeError("down"), 7]

    async def read() -> int:
        await asyncio.sleep(0)
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    shared = SharedRead(read)
    results = await asyncio.gather(shared(), shared(), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert await shared() == 7


def test_it_works_across_event_loops() -> None:
    async def read() -> str:
        return "v"

    shared = SharedRead(read)
    for _ in range(2):  # each command or test has its own loop
        assert asyncio.run(shared()) == "v"


async def test_a_cancelled_batch_leaves_no_caller_waiting() -> None:
    from engage.platform.shared_reads import Batched

    started = asyncio.Event()

    async def run(items: list[int]) -> list[int]:
        started.set()
        await asyncio.sleep(60)
        return items

    batched: Batched[int, int] = Batched(run)
    first = asyncio.create_task(batched(1))
    await started.wait()
    second = asyncio.create_task(batched(2))  # waits for the next batch
    await asyncio.sleep(0)
    assert batched._running is not None
    batched._running.cancel()
    results = await asyncio.gather(first, second, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
