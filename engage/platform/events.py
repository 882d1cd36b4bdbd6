"""One way out for domain events.

Each domain declares its events in its own `events.py`: `Event` subclasses (msgspec structs) with a unique
`type` ("order.updated"), and the builders of the channel names they travel on. A service records an event
on its database session with `record(session, event, channels)`. Nothing leaves before the
transaction commits: an `after_commit` hook hands the session's events to the process's `EventPublisher`,
which delivers them, in order, to its sinks (the real-time fan-out, job triggers). A rollback drops them;
a savepoint's events wait for the outermost commit, and vanish if the savepoint rolls back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self, dataclass_transform

import msgspec
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from engage.platform.clock import epoch_ms

log = logging.getLogger("engage.events")

_PENDING = "engage.pending_events"  # [(savepoint it was recorded in, or None, event)]
_COMMITTED = "engage.committed_savepoints"
_PUBLISHER = "engage.publisher"
# Commits delivered to the sinks in one call, at most (about this many events)
_BATCH_EVENTS = 500


# msgspec passes `frozen` on to subclasses (not `kw_only`, which covers only a class's own fields); saying
# so here lets the type checker see every declared event as frozen, as it is at run time
@dataclass_transform(frozen_default=True, field_specifiers=(msgspec.field,))
class Event(msgspec.Struct, frozen=True, kw_only=True):
    """A domain event's declaration: subclasses set `type` and declare their fields (the event's schema).
    A base without a `type` of its own only shares fields."""

    type: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type" not in cls.__dict__:
            return
        declared = EVENT_TYPES.setdefault(cls.type, cls)
        if declared is not cls and declared.__qualname__ != cls.__qualname__:
            raise TypeError(f"event type {cls.type!r} is declared twice: {declared!r} and {cls!r}")
        EVENT_TYPES[cls.type] = cls

    @classmethod
    def of(cls, event: DomainEvent) -> Self | None:
        """This declaration's view of a delivered event, or None when `event` is of another type."""
        return msgspec.convert(event.data, cls, strict=False) if event.type == cls.type else None


EVENT_TYPES: dict[str, type[Event]] = {}  # every declared event by name


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """`type` the event's name ("stock.changed"), `data` its fields as JSON-ready values; `channels` the
    real-time channels it is for (may be empty)."""

    type: str
    data: dict[str, Any]
    channels: tuple[str, ...] = ()
    ts: int = field(default_factory=epoch_ms)


Sink = Callable[[list[DomainEvent]], Awaitable[None]]


def user_channel(user_id: int) -> str:
    """A signed-in user's private channel (order updates, notifications): the kernel's, every area uses it."""
    return f"user:{user_id}"


def record(session: AsyncSession | Session, event: Event, channels: Iterable[str] = ()) -> None:
    """Queue an event on the session; it is published only if and when the outermost transaction commits.

    An event recorded inside a savepoint (`begin_nested`) is dropped if that savepoint rolls back.
    """
    _queue(session, domain_event(event, channels))


def publish_committed(session: AsyncSession | Session, events: list[DomainEvent]) -> None:
    """Events of a statement that committed on its own, outside the session's transaction (autocommit): to the
    session's publisher now, as a commit of the session would send them."""
    sync_session = session.sync_session if isinstance(session, AsyncSession) else session
    publisher = sync_session.info.get(_PUBLISHER)
    if publisher is not None:
        publisher.submit(events)


def domain_event(event: Event, channels: Iterable[str] = ()) -> DomainEvent:
    """What the sinks get of a declared event (also for live-only signals sent outside a transaction)."""
    if not isinstance(event, Event):
        raise TypeError(f"events are declared Events, not {type(event).__name__}")
    return DomainEvent(event.type, msgspec.to_builtins(event), tuple(channels))


def _queue(session: AsyncSession | Session, event: DomainEvent) -> None:
    sync_session = session.sync_session if isinstance(session, AsyncSession) else session
    sync_session.info.setdefault(_PENDING, []).append((sync_session.get_nested_transaction(), event))


def conforms(event: DomainEvent) -> str | None:
    """Why `event` does not match its declaration (None when it does): tests check every recorded event."""
    declared = EVENT_TYPES.get(event.type)
    if declared is None:
        return f"{event.type!r} is not a declared event"
    try:
        msgspec.convert(event.data, declared, strict=False)
    except msgspec.ValidationError as exc:
        return f"{event.type}: {exc}"
    return None


class EventPublisher:
    """Delivers committed events to sinks in commit order, off the committing coroutine.

    Commits that queued up while a delivery was out go to each sink together, in one call (their events in
    commit order); a sink that fails on such a group gets each commit again on its own.
    """

    def __init__(self, *, check: bool = False) -> None:
        """`check` (tests): every event must match its declaration, or submitting it raises."""
        self._check = check
        self._sinks: list[Sink] = []
        self._queue: asyncio.Queue[list[DomainEvent] | None] | None = None
        self._task: asyncio.Task[None] | None = None

    def add_sink(self, sink: Sink) -> None:
        self._sinks.append(sink)

    async def start(self) -> None:
        if self._task is None:
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._run(), name="engage-event-publisher")

    async def stop(self) -> None:
        """Deliver what is queued, then stop."""
        if self._task is not None and self._queue is not None:
            self._queue.put_nowait(None)
            await self._task
        self._task = None
        self._queue = None

    def submit(self, events: list[DomainEvent]) -> None:
        if not events:
            return
        self._check_all(events)
        if self._queue is None:
            raise RuntimeError("EventPublisher.start() was not called")
        self._queue.put_nowait(events)

    async def publish(self, events: list[DomainEvent]) -> None:
        """Deliver now (for code running outside a transaction, e.g. a timer tick)."""
        self._check_all(events)
        await self._deliver(events)

    def _check_all(self, events: list[DomainEvent]) -> None:
        if self._check:
            for event in events:
                if (wrong := conforms(event)) is not None:
                    raise TypeError(f"an event does not match its declaration: {wrong}")

    async def drain(self) -> None:
        """Wait until everything submitted so far has been delivered (tests and shutdown)."""
        if self._queue is not None:
            done = asyncio.get_running_loop().create_future()
            self._queue.put_nowait([DomainEvent("_drain", {"future": done})])
            await done

    async def _run(self) -> None:
        queue = self._queue
        assert queue is not None
        marker: list[list[DomainEvent] | None] = []  # a stop or drain marker met while batching
        while True:
            batch = marker.pop() if marker else await queue.get()
            if batch is None:
                return
            if batch and batch[0].type == "_drain":
                batch[0].data["future"].set_result(None)
                continue
            # what committed while the last batch was out leaves together, in commit order: under load the
            # sinks make one round trip for many commits instead of one each (the real-time sink's Redis)
            batches, size = [batch], len(batch)
            while size < _BATCH_EVENTS and not queue.empty():
                more = queue.get_nowait()
                if more is None or (more and more[0].type == "_drain"):
                    marker.append(more)
                    break
                batches.append(more)
                size += len(more)
            await self._deliver_batches(batches)

    async def _deliver_batches(self, batches: list[list[DomainEvent]]) -> None:
        events = [event for batch in batches for event in batch]
        for sink in self._sinks:
            try:
                await sink(events)
            except Exception:
                if len(batches) == 1:
                    log.exception("event sink %r failed for %d events", sink, len(events))
                    continue
                # one commit's bad events must not cost the others theirs: each commit again, on its own
                log.warning("event sink %r failed for %d commits; delivering one by one", sink, len(batches))
                for batch in batches:
                    await self._deliver_to(sink, batch)

    async def _deliver(self, events: list[DomainEvent]) -> None:
        for sink in self._sinks:
            await self._deliver_to(sink, events)

    @staticmethod
    async def _deliver_to(sink: Sink, events: list[DomainEvent]) -> None:
        try:
            await sink(events)
        except Exception:
            log.exception("event sink %r failed for %d events", sink, len(events))


def attach(publisher: EventPublisher) -> dict[str, Any]:
    """Session `info` that routes the session's committed events to `publisher`."""
    return {_PUBLISHER: publisher}


def _nested_parent(transaction: SessionTransaction) -> SessionTransaction | None:
    parent = transaction.parent
    while parent is not None and not parent.nested:
        parent = parent.parent
    return parent


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    savepoint = session.get_nested_transaction()
    if savepoint is not None:
        session.info.setdefault(_COMMITTED, set()).add(savepoint)
        return
    pending = session.info.pop(_PENDING, None)
    session.info.pop(_COMMITTED, None)
    publisher = session.info.get(_PUBLISHER)
    if pending and publisher is not None:
        publisher.submit([evt for _, evt in pending])


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction: a commit has published already
        session.info.pop(_PENDING, None)
        session.info.pop(_COMMITTED, None)
        return
    if not transaction.nested or not (pending := session.info.get(_PENDING)):
        return
    committed = session.info.get(_COMMITTED, set())
    if transaction in committed:
        committed.discard(transaction)
        parent = _nested_parent(transaction)
        session.info[_PENDING] = [(parent if tx is transaction else tx, evt) for tx, evt in pending]
    else:
        session.info[_PENDING] = [(tx, evt) for tx, evt in pending if tx is not transaction]
