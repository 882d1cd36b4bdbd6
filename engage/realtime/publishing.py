"""Committed domain events out to their channels: numbered by the backend, coalesced on `latest` channels."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from engage.platform.channels import SequencedBackend, sequenced_frame
from engage.platform.events import DomainEvent
from engage.realtime import frames
from engage.realtime.kinds import ChannelKinds

if TYPE_CHECKING:
    pass

log = logging.getLogger("engage.realtime")

# A burst of changes to one value (1,000 stock changes in a second) goes out as the first change at once,
# then at most one frame per window with the newest value: ~5 frames a second, never a stale last word.
COALESCE_SECONDS = 0.2

Flush = Callable[[list[tuple[str, bytes]]], Awaitable[None]]


class Coalescer:
    """Leading and trailing throttle per (channel, key)."""

    def __init__(self, flush: Flush, window: float = COALESCE_SECONDS) -> None:
        self._flush = flush
        self._window = window
        self._open: dict[tuple[str, str], tuple[str, bytes] | None] = {}
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._due: list[tuple[str, bytes]] = []
        self._flushing: asyncio.Task[None] | None = None

    def offer(self, channel: str, key: str, body: bytes) -> bool:
        """True: publish now (and a window opens); False: held, the newest goes out when the window ends."""
        slot = (channel, key)
        if slot in self._open:
            self._open[slot] = (channel, body)
            return False
        self._start(slot)
        return True

    def _start(self, slot: tuple[str, str]) -> None:
        self._open[slot] = None
        self._timers[slot] = asyncio.get_running_loop().call_later(self._window, self._end, slot)

    def _end(self, slot: tuple[str, str]) -> None:
        pending = self._open.pop(slot, None)
        self._timers.pop(slot, None)
        if pending is None:
            return
        self._start(slot)  # a steady stream keeps one frame per window
        self._due.append(pending)
        if self._flushing is None:
            self._flushing = asyncio.get_running_loop().create_task(self._flush_due())

    async def _flush_due(self) -> None:
        try:
            while self._due:
                due, self._due = self._due, []
                await self._flush(due)
        except Exception:
            log.exception("publishing coalesced events failed")
        finally:
            self._flushing = None

    async def drain(self) -> None:
        """Publish everything held now (shutdown)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._due.extend(p for p in self._open.values() if p is not None)
        self._open.clear()
        if self._flushing is not None:
            await self._flushing
        if self._due:
            await self._flush_due()

    def __len__(self) -> int:
        return len(self._open)


class Publishing:
    def __init__(self, backend: SequencedBackend, kinds: ChannelKinds) -> None:
        self._backend = backend
        self._kinds = kinds
        self._lock = asyncio.Lock()  # one publisher at a time keeps each channel's frames in order
        self.coalescer = Coalescer(self._publish_numbered)

    async def deliver(self, events: list[DomainEvent]) -> None:
        numbered: list[tuple[str, bytes]] = []
        unnumbered: list[tuple[str, bytes]] = []
        for event in events:
            for channel in event.channels:
                kind = self._kinds.of(channel)
                if kind is None:
                    log.warning("event %s for %s: no channel kind is registered for it", event.type, channel)
                    continue
                if kind.sequencing == "domain":
                    seq = event.data.get("seq")
                    body = frames.event_body(
                        channel, event.type, event.data, event.ts, self._key(kind, event)
                    )
                    if isinstance(seq, int) and not isinstance(seq, bool):
                        unnumbered.append((channel, sequenced_frame(kind.epoch, seq, body)))
                    else:
                        unnumbered.append((channel, b"{%s}" % body))
                elif kind.policy == "latest":
                    key = self._key(kind, event) or ""
                    body = frames.event_body(channel, event.type, event.data, event.ts, key)
                    if self.coalescer.offer(channel, key, body):
                        numbered.append((channel, body))
                else:
                    numbered.append((channel, frames.event_body(channel, event.type, event.data, event.ts)))
        if numbered or unnumbered:
            async with self._lock:
                await self._backend.publish_together(numbered, unnumbered)

    async def ephemeral(self, channel: str, event: str, data: Any) -> None:
        await self._backend.publish(frames.unnumbered_event(channel, event, data), [channel])

    async def _publish_numbered(self, items: list[tuple[str, bytes]]) -> None:
        async with self._lock:
            await self._backend.publish_sequenced(items)

    @staticmethod
    def _key(kind: Any, event: DomainEvent) -> str | None:
        return kind.coalesce(event.type, event.data) if kind.policy == "latest" else None
