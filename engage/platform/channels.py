"""Fan-out behind Litestar's Channels plugin, with numbered events and history for resume.

Litestar's backends fan events out; they do not number them, and their history only means "the last N".
These subclasses add what resume needs (Centrifugo's offset/epoch model):

- `publish_sequenced`: the channel's next number is assigned atomically with storing the event in the
  channel's history and publishing it. Production: one Redis script (HINCRBY + XADD + PUBLISH); embedded:
  in memory. An epoch names each numbering, so a reset (history lost) is detectable.
- `history(channel, after)`: the channel's position, and the events after `after` when all are still there.

Production fans out over Redis pub/sub (O(1) per message whatever the number of channels; streams would
mean one XREAD over every subscribed key) and keeps history in one stream per channel, keyed by sequence.
Pub/sub can lose messages when a connection breaks: the backend reports reconnects and the hub refills
gaps from history.

`NodeChannelsPlugin` is Litestar's plugin with one feed per channel per node (the hub fans out locally)
and without litestar issue #4867's leak: a channel's entry goes when its last subscriber leaves.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, NamedTuple, cast

from litestar.channels import ChannelsPlugin, Subscriber
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger("engage.channels")

_SCRIPTS = resources.files("engage.platform")
_PUBLISH_LUA = (_SCRIPTS / "channel_publish.lua").read_text()
_HISTORY_LUA = (_SCRIPTS / "channel_history.lua").read_text()

# Numbering outlives history by this factor: a quiet channel still resumes (nothing missed) long after its
# events expired, and a client only sees a new epoch when the channel was idle for days.
_META_TTL_FACTOR = 24


class Position(NamedTuple):
    epoch: str
    seq: int


class History(NamedTuple):
    """The channel's position and, when complete, every frame after the asked position (seq, frame)."""

    epoch: str
    seq: int
    frames: list[tuple[int, bytes]] | None  # None: no longer held (trimmed or expired)


def new_epoch() -> str:
    return secrets.token_urlsafe(6)


def sequenced_frame(epoch: str, seq: int, body: bytes) -> bytes:
    """`body` is a JSON object's members without braces; the frame leads with its position."""
    return b'{"epoch":"%s","seq":%d,%s}' % (epoch.encode(), seq, body)


class SequencedBackend(ChannelsBackend):
    """What the hub needs beyond Litestar's backend interface."""

    # False when events can be lost in transit (Redis pub/sub): the hub then checks positions.
    lossless: bool = True
    # Called after the backend lost and regained its connection (events may have been missed).
    on_reconnect: Callable[[], None] | None = None

    async def publish_sequenced(self, items: Sequence[tuple[str, bytes]]) -> list[Position]:
        """Number, store and publish each (channel, body), in order; returns their positions."""
        raise NotImplementedError

    async def publish_together(
        self, sequenced: Sequence[tuple[str, bytes]], frames: Sequence[tuple[str, bytes]]
    ) -> list[Position]:
        """One commit's events: `publish_sequenced(sequenced)`, then each (channel, frame) of `frames`
        unnumbered (fan-out only), in order."""
        positions = await self.publish_sequenced(sequenced) if sequenced else []
        for channel, frame in frames:
            await self.publish(frame, [channel])
        return positions

    async def history(self, channel: str, after: int = -1, *, limit: int | None = None) -> History:
        """Position of `channel`; with `after >= 0`, also its frames after `after` (None if incomplete)."""
        raise NotImplementedError

    async def positions(self, channels: Sequence[str]) -> list[Position]:
        positions = []
        for channel in channels:
            history = await self.history(channel)
            positions.append(Position(history.epoch, history.seq))
        return positions


# ---- embedded -----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _ChannelLog:
    epoch: str
    frames: deque[tuple[int, bytes]]
    seq: int = 0
    touched: float = field(default_factory=time.monotonic)


class MemorySequencedBackend(MemoryChannelsBackend, SequencedBackend):
    """One process: numbering and history in memory, forgotten when a channel is idle and unwatched."""

    def __init__(self, *, history: int, history_seconds: int) -> None:
        super().__init__(history=0)  # Litestar's history ("the last N", dropped on unsubscribe) is unused
        self._limit = history
        self._ttl = float(history_seconds)
        self._logs: OrderedDict[str, _ChannelLog] = OrderedDict()  # least recently used first
        self._node = new_epoch()
        self._generation = itertools.count(1)

    def _log(self, channel: str) -> _ChannelLog:
        now = time.monotonic()
        log_ = self._logs.get(channel)
        if log_ is None:
            log_ = self._logs[channel] = _ChannelLog(
                epoch=f"{self._node}{next(self._generation)}", frames=deque(maxlen=self._limit)
            )
        else:
            log_.touched = now
            self._logs.move_to_end(channel)
        self._forget_idle(now)
        return log_

    def _forget_idle(self, now: float) -> None:
        while self._logs:
            channel, oldest = next(iter(self._logs.items()))
            if now - oldest.touched < self._ttl:
                return
            if channel in self._channels:  # watched on this node: keep, look again after another TTL
                oldest.touched = now
                self._logs.move_to_end(channel)
                continue
            del self._logs[channel]

    @property
    def channel_count(self) -> int:
        return len(self._logs)

    async def publish_sequenced(self, items: Sequence[tuple[str, bytes]]) -> list[Position]:
        if self._queue is None:
            raise RuntimeError("backend not started")
        positions = []
        for channel, body in items:
            log_ = self._log(channel)
            log_.seq += 1
            frame = sequenced_frame(log_.epoch, log_.seq, body)
            log_.frames.append((log_.seq, frame))
            if channel in self._channels:
                self._queue.put_nowait((channel, frame))
            positions.append(Position(log_.epoch, log_.seq))
        return positions

    async def history(self, channel: str, after: int = -1, *, limit: int | None = None) -> History:
        log_ = self._log(channel)
        if after < 0 or after > log_.seq:
            return History(log_.epoch, log_.seq, None)
        if after == log_.seq:
            return History(log_.epoch, log_.seq, [])
        missing = log_.seq - after
        if (
            missing > min(limit or self._limit, self._limit)
            or not log_.frames
            or log_.frames[0][0] > after + 1
        ):
            return History(log_.epoch, log_.seq, None)
        frames = list(itertools.islice(log_.frames, len(log_.frames) - missing, None))
        return History(log_.epoch, log_.seq, frames)

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        # numbering and history stay until idle for `history_seconds` (the base class drops history here)
        self._channels.difference_update(channels)
        self._forget_idle(time.monotonic())


# ---- production ---------------------------------------------------------------------------------------------


class RedisSequencedBackend(RedisChannelsPubSubBackend, SequencedBackend):
    """Redis: pub/sub for fan-out, a stream per channel for history, a hash per channel for its numbering."""

    lossless = False

    def __init__(self, redis: Redis, *, prefix: str, history: int, history_seconds: int) -> None:
        super().__init__(redis=redis, key_prefix=f"{prefix}:rt", stream_sleep_no_subscriptions=1)
        self._limit = history
        self._history_ms = history_seconds * 1000
        self._meta_ms = self._history_ms * _META_TTL_FACTOR
        self._publish_sequenced = redis.register_script(_PUBLISH_LUA)
        self._read_history = redis.register_script(_HISTORY_LUA)
        self._topic_prefix = f"{prefix}:rt:ch:".encode()
        # redis-py's PubSub connects on its first command, and concurrent first commands each open a
        # connection of which only the last is read: the others' subscriptions would hear nothing, for good.
        # (Once connected, SUBSCRIBE only writes: holding the lock costs nothing.)
        self._subscribing = asyncio.Lock()

    @property
    def channel_count(self) -> int:
        return len(self._pub_sub.channels)

    def _topic(self, channel: str) -> bytes:
        return self._topic_prefix + channel.encode()

    def _keys(self, channel: str) -> list[str]:
        return [f"{self._key_prefix}:meta:{channel}", f"{self._key_prefix}:hist:{channel}"]

    async def subscribe(self, channels: Iterable[str]) -> None:
        async with self._subscribing:
            await self._pub_sub.subscribe(*[self._topic(c) for c in channels])
        self._has_subscribed.set()

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        # the event stays set: the stream loop must go on reading to see the unsubscriptions confirmed
        async with self._subscribing:
            await self._pub_sub.unsubscribe(*[self._topic(c) for c in channels])

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        """Unnumbered publish (ephemeral events, pre-numbered domain events): fan-out only."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for channel in set(channels):
                pipe.publish(self._topic(channel), data)
            await pipe.execute()

    async def publish_sequenced(self, items: Sequence[tuple[str, bytes]]) -> list[Position]:
        return await self.publish_together(items, [])

    async def publish_together(
        self, sequenced: Sequence[tuple[str, bytes]], frames: Sequence[tuple[str, bytes]]
    ) -> list[Position]:
        """One round trip for them all (a chat message: its frames on two channels, the inbox's number).

        The script goes by its digest: a pipeline of redis-py Scripts would first ask SCRIPT EXISTS, a
        round trip per publish. Only after Redis lost its scripts (a restart) is it loaded and the pipeline
        sent again: its unnumbered frames (live hints) may then arrive twice, its numbered ones never do
        (NOSCRIPT ran none of them)."""
        try:
            results = await self._pipeline(sequenced, frames)
        except NoScriptError:
            await self._redis.script_load(_PUBLISH_LUA)
            results = await self._pipeline(sequenced, frames)
        return [Position(epoch.decode(), int(seq)) for seq, epoch in results[: len(sequenced)]]

    async def _pipeline(
        self, sequenced: Sequence[tuple[str, bytes]], frames: Sequence[tuple[str, bytes]]
    ) -> list[Any]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for channel, body in sequenced:
                args: list[Any] = [new_epoch(), body, self._limit, self._history_ms, self._meta_ms]
                args.append(self._topic(channel))
                pipe.evalsha(self._publish_sequenced.sha, 2, *self._keys(channel), *args)
            for channel, frame in frames:
                pipe.publish(self._topic(channel), frame)
            return cast(list[Any], await pipe.execute())

    async def history(self, channel: str, after: int = -1, *, limit: int | None = None) -> History:
        epoch, seq, entries = await self._read_history(
            keys=self._keys(channel),
            args=[after, min(limit or self._limit, self._limit), new_epoch(), self._history_ms],
        )
        seq = int(seq)
        if after < 0:
            return History(epoch.decode(), seq, None)
        frames = [(int(entry_id.split(b"-", 1)[0]), fields[1]) for entry_id, fields in entries or []]
        complete = after <= seq and len(frames) == seq - after and (not frames or frames[0][0] == after + 1)
        return History(epoch.decode(), seq, frames if complete else None)

    async def positions(self, channels: Sequence[str]) -> list[Position]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for channel in channels:
                await self._read_history(
                    keys=self._keys(channel), args=[-1, 0, new_epoch(), self._history_ms], client=pipe
                )
            results = await pipe.execute()
        return [Position(epoch.decode(), int(seq)) for epoch, seq, _ in results]

    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        """Litestar's loop, plus: survive connection loss (report it) and O(1) work per message."""
        prefix_len = len(self._topic_prefix)
        pub_sub = self._pub_sub
        lost = False
        backoff = 0.05
        while True:
            await self._has_subscribed.wait()
            try:
                message = await pub_sub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                if not lost:
                    log.warning("channel subscription connection lost: %s", exc)
                lost = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            if lost:
                lost, backoff = False, 0.05
                log.warning("channel subscription connection restored")
                if self.on_reconnect is not None:
                    self.on_reconnect()
            if message is None:
                continue
            topic: bytes = message["channel"]
            # a message can still arrive for a channel being unsubscribed
            if topic in pub_sub.channels and topic not in pub_sub.pending_unsubscribe_channels:
                yield topic[prefix_len:].decode(), message["data"]


def make_channels_backend(
    redis: Redis | None, *, prefix: str, history: int, history_seconds: int = 3600
) -> SequencedBackend:
    if redis is None:
        return MemorySequencedBackend(history=history, history_seconds=history_seconds)
    return RedisSequencedBackend(redis, prefix=prefix, history=history, history_seconds=history_seconds)


# ---- the plugin ---------------------------------------------------------------------------------------------

OnFrame = Callable[[str, bytes], None]


class ChannelFeed(Subscriber):
    """A node's one subscription to a channel: frames go straight to a callback (the hub's local fan-out)
    instead of a queue and a task per subscriber."""

    def __init__(self, plugin: ChannelsPlugin, channel: str, on_frame: OnFrame) -> None:
        super().__init__(plugin)
        self.channel = channel
        self._on_frame = on_frame

    def put_nowait(self, item: bytes | None) -> bool:
        if item is not None:
            try:
                self._on_frame(self.channel, item)
            except Exception:  # one bad frame must not stop the node's event stream
                log.exception("fan-out failed on %s", self.channel)
        return True

    async def put(self, item: bytes | None) -> None:
        self.put_nowait(item)


class NodeChannelsPlugin(ChannelsPlugin):
    def __init__(self, backend: SequencedBackend) -> None:
        super().__init__(backend=backend, arbitrary_channels_allowed=True)
        self.backend = backend

    @property
    def channel_count(self) -> int:
        return len(self._channels)

    async def open_feed(self, channel: str, on_frame: OnFrame) -> ChannelFeed:
        feed = ChannelFeed(self, channel, on_frame)
        subscribers = self._channels.setdefault(channel, set())
        first = not subscribers
        subscribers.add(feed)
        if first:
            try:
                await self._backend.subscribe([channel])
            except BaseException:
                self._forget(feed)
                raise
        return feed

    async def close_feed(self, feed: ChannelFeed) -> None:
        if self._forget(feed):
            await self._backend.unsubscribe([feed.channel])

    def _forget(self, feed: ChannelFeed) -> bool:
        """Drop `feed`; True when its channel has nobody left (and its entry is gone: litestar #4867)."""
        subscribers = self._channels.get(feed.channel)
        if subscribers is None:
            return False
        subscribers.discard(feed)
        if subscribers:
            return False
        del self._channels[feed.channel]
        return True

    async def unsubscribe(self, subscriber: Subscriber, channels: str | Iterable[str] | None = None) -> None:
        names = [channels] if isinstance(channels, str) else list(channels or self._channels)
        await super().unsubscribe(subscriber, names)
        for name in names:  # litestar #4867
            if not self._channels.get(name, True):
                del self._channels[name]
