"""Events leave only when the outermost transaction commits; savepoints keep or drop their own."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import pytest
from sqlalchemy import text

from engage.platform.events import EVENT_TYPES, DomainEvent, Event, EventPublisher, conforms, record
from engage.platform.runtime import Runtime


class Noted(Event):
    type: ClassVar[str] = "test.event"
    n: str


async def _collect(runtime: Runtime, body) -> list[str]:
    seen: list[DomainEvent] = []

    async def sink(events: list[DomainEvent]) -> None:
        seen.extend(events)

    runtime.publisher.add_sink(sink)
    try:
        async with runtime.sessionmaker() as session:
            await body(session)
        await runtime.publisher.drain()
    finally:
        runtime.publisher._sinks.remove(sink)
    return [e.data["n"] for e in seen if e.type == "test.event"]


async def test_commit_publishes_in_order_and_rollback_drops(runtime: Runtime) -> None:
    async def body(session) -> None:
        record(session, Noted(n="a"))
        await session.execute(text("SELECT 1"))
        record(session, Noted(n="b"))
        await session.commit()
        record(session, Noted(n="lost"))
        await session.execute(text("SELECT 1"))
        await session.rollback()

    assert await _collect(runtime, body) == ["a", "b"]


async def test_savepoints_wait_for_the_outer_commit_and_vanish_on_their_rollback(runtime: Runtime) -> None:
    async def body(session) -> None:
        record(session, Noted(n="outer-1"))
        async with session.begin_nested():
            record(session, Noted(n="kept"))
            async with session.begin_nested():
                record(session, Noted(n="kept-inner"))
        try:
            async with session.begin_nested():
                record(session, Noted(n="rolled-back"))
                raise RuntimeError("undo this savepoint")
        except RuntimeError:
            pass
        record(session, Noted(n="outer-2"))
        await session.commit()

    assert await _collect(runtime, body) == ["outer-1", "kept", "kept-inner", "outer-2"]


async def test_nothing_leaves_before_commit(runtime: Runtime) -> None:
    publisher: EventPublisher = runtime.publisher
    seen: list[DomainEvent] = []

    async def sink(events: list[DomainEvent]) -> None:
        seen.extend(events)

    publisher.add_sink(sink)
    try:
        async with runtime.sessionmaker() as session:
            async with session.begin_nested():
                record(session, Noted(n="x"))
            await publisher.drain()
            assert seen == []
            await session.commit()
        await publisher.drain()
        assert [e.data["n"] for e in seen] == ["x"]
    finally:
        publisher._sinks.remove(sink)


async def _blocked_publisher(sink) -> tuple[EventPublisher, asyncio.Event]:
    """A started publisher whose first delivery (commit "first") waits until the returned event is set."""
    gate = asyncio.Event()
    first_seen = asyncio.Event()

    async def gated(events: list[DomainEvent]) -> None:
        if events[0].data["n"] == "first":
            first_seen.set()
            await gate.wait()
        else:
            await sink(events)

    publisher = EventPublisher()
    publisher.add_sink(gated)
    await publisher.start()
    publisher.submit([DomainEvent("test.event", {"n": "first"})])
    await asyncio.wait_for(first_seen.wait(), 5)
    return publisher, gate


async def test_commits_queued_behind_a_busy_sink_leave_together_in_commit_order() -> None:
    calls: list[list[str]] = []

    async def sink(events: list[DomainEvent]) -> None:
        calls.append([e.data["n"] for e in events])

    publisher, gate = await _blocked_publisher(sink)
    try:
        for n in ("a", "b", "c"):
            publisher.submit([DomainEvent("test.event", {"n": n}), DomainEvent("test.event", {"n": n + "2"})])
        gate.set()
        await publisher.drain()
        assert calls == [["a", "a2", "b", "b2", "c", "c2"]]
        publisher.submit([DomainEvent("test.event", {"n": "d"})])
        await publisher.drain()
        assert calls[-1] == ["d"]
    finally:
        await publisher.stop()


async def test_a_sink_failing_on_merged_commits_still_gets_the_other_commits() -> None:
    delivered: list[list[str]] = []

    async def picky(events: list[DomainEvent]) -> None:
        names = [e.data["n"] for e in events]
        if "bad" in names:
            raise ValueError("cannot take that one")
        delivered.append(names)

    publisher, gate = await _blocked_publisher(picky)
    try:
        for n in ("a", "bad", "c"):
            publisher.submit([DomainEvent("test.event", {"n": n})])
        gate.set()
        await publisher.drain()
        assert delivered == [["a"], ["c"]]
    finally:
        await publisher.stop()


def test_record_takes_only_declared_events(runtime: Runtime) -> None:
    class Loose:
        type = "test.loose"

    with pytest.raises(TypeError):
        record(runtime.sessionmaker(), Loose())  # type: ignore[arg-type]


def test_an_event_that_differs_from_its_declaration_is_caught() -> None:
    assert EVENT_TYPES["test.event"] is Noted
    assert conforms(DomainEvent("test.event", {"n": "ok"})) is None
    assert conforms(DomainEvent("test.event", {"n": 3})) is not None
    assert conforms(DomainEvent("test.undeclared", {})) is not None
    with pytest.raises(TypeError, match="declared twice"):

        class Again(Event):
            type: ClassVar[str] = "test.event"


async def test_in_tests_every_event_is_checked_against_its_declaration(runtime: Runtime) -> None:
    """Test runtimes (ENGAGE_ENV=test) check every event they publish, so a wrong payload fails its test."""
    with pytest.raises(TypeError, match="does not match its declaration"):
        await runtime.publisher.publish([DomainEvent("test.event", {"n": 42})])
    with pytest.raises(TypeError, match="not a declared event"):
        runtime.publisher.submit([DomainEvent("test.nobody_declared_me", {})])
