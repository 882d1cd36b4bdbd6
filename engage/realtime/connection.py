"""One socket: its bounded send queue, its frame budget, its subscriptions, and what it may ask."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from engage.platform.clock import epoch_ms
from engage.platform.errors import DomainError, is_out_of_range, is_overload
from engage.platform.identity import Identity
from engage.platform.logs import SampledWarning
from engage.platform.wire import json_problem
from engage.realtime import frames
from engage.realtime.eager import Send, send_eagerly

if TYPE_CHECKING:
    from engage.platform.runtime import Runtime
    from engage.realtime.hub import Realtime

log = logging.getLogger("engage.realtime")
warn_overload = SampledWarning(log)

# A page watches a handful of channels; 200 leaves room for consoles without letting one socket pin
# thousands of node subscriptions.
MAX_SUBSCRIPTIONS = 200
# A client far beyond its frame budget for a whole second is not a browser tab; it is cut off.
FLOOD_FACTOR = 10
# How long a close may take before we stop waiting for a peer that no longer answers.
CLOSE_TIMEOUT = 5.0
# Frames waiting while an earlier one of the same socket is handled; beyond this the newest is answered
# `unavailable` at once (the node is too busy for this socket), so a backlog never grows without bound.
MAX_WAITING_FRAMES = 32
# A frame that waited this long for its turn is answered `unavailable` instead of handled: under overload
# the node sheds work rather than answering long after the client stopped waiting (browsers wait 15 s).
MAX_FRAME_WAIT_SECONDS = 5.0


class SocketContext(Protocol):
    """What a frame handler of another area gets (docs/protocol.md)."""

    identity: Identity
    runtime: Runtime
    realtime: Realtime
    connection_id: str

    def send(self, frame: dict[str, Any]) -> None: ...

    def is_subscribed(self, channel: str) -> bool: ...


class Outbox:
    """A socket's send queue. Frames go out at once (an eager send, in the caller) while the peer keeps up;
    when it does not, they wait here: replies and reliable events in order and bounded (`limit`), and on
    `latest` channels only the newest frame per key (older ones are superseded)."""

    __slots__ = ("_blocked", "_frames", "_latest", "_send", "closed", "limit", "sent")

    def __init__(self, limit: int, send: Send) -> None:
        self.limit = limit
        self.closed = False
        self.sent = 0
        self._send = send
        # lists, not deques: they hold a few hundred at most, and an idle socket's empty deque costs 760 bytes
        self._frames: list[str] = []
        self._latest: dict[tuple[str, str], str] = {}
        self._blocked: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self._frames) + len(self._latest)

    def control(self, text: str) -> None:
        """Replies, errors, notices: always queued (their number is bounded by the client's frame budget)."""
        self._frames.append(text)
        self.flush()

    def reliable(self, text: str) -> bool:
        if len(self._frames) >= self.limit:
            return False
        self._frames.append(text)
        self.flush()
        return True

    def latest(self, channel: str, key: str, text: str) -> None:
        slot = (channel, key)
        if self._latest.pop(slot, None) is None and len(self._latest) >= self.limit:
            del self._latest[next(iter(self._latest))]
        self._latest[slot] = text
        self.flush()

    def forget(self, channel: str) -> None:
        for slot in [s for s in self._latest if s[0] == channel]:
            del self._latest[slot]

    def flush(self) -> None:
        if self._blocked is not None or self.closed:
            return
        frames, latest = self._frames, self._latest
        try:
            while frames or latest:
                text = frames.pop(0) if frames else latest.pop(next(iter(latest)))
                pending = send_eagerly(self._send, {"type": "websocket.send", "text": text})
                self.sent += 1
                if pending is not None:  # the peer is not keeping up: finish that send in the background
                    self._blocked = asyncio.ensure_future(pending)
                    self._blocked.add_done_callback(self._unblocked)
                    return
        except Exception as exc:  # the peer went away; the door's receive loop sees it and detaches us
            self._gone(exc)

    def _unblocked(self, done: asyncio.Future[None]) -> None:
        self._blocked = None
        if done.cancelled():
            return
        if done.exception() is not None:
            self._gone(done.exception())
        else:
            self.flush()

    def _gone(self, exc: BaseException | None) -> None:
        log.debug("send failed, dropping the rest: %r", exc)
        self.closed = True
        self._frames.clear()
        self._latest.clear()

    def stop(self) -> None:
        self.closed = True
        if self._blocked is not None:
            self._blocked.cancel()


class FrameBudget:
    """Token bucket: `rate` frames per second, bursts of twice that."""

    __slots__ = ("_stamp", "_tokens", "burst", "rate")

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.burst = 2 * rate
        self._tokens = self.burst
        self._stamp = time.monotonic()

    def take(self, now: float) -> float:
        """0 if a frame may pass now, else the seconds until one may."""
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate


class Membership:
    """A socket's subscription to a channel: the last position queued to it, and while it is subscribing,
    the live events that arrived meanwhile."""

    __slots__ = ("buffer", "conn", "epoch", "lagged", "overflow", "seq")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.epoch: str | None = None
        self.seq = 0
        self.buffer: list[tuple[frames.Head, str]] | None = []
        self.overflow = False
        self.lagged = False


class Connection:
    def __init__(self, hub: Realtime, identity: Identity, send: Send) -> None:
        settings = hub.runtime.settings
        self.realtime = hub
        self.runtime = hub.runtime
        self.identity = identity
        self.connection_id = secrets.token_urlsafe(9)
        self.memberships: dict[str, Membership] = {}
        self.outbox = Outbox(settings.ws_send_queue, send)
        self.last_seen = time.monotonic()
        self.unanswered_pings = 0  # any frame from the client answers
        self.sent_at_tick = 0  # frames sent as of the last heartbeat tick
        self.closed = False
        self._send = send
        self._max_frame = settings.ws_max_frame_bytes
        self._budget = FrameBudget(settings.ws_frames_per_second)
        self._dropped = 0
        self._dropped_since = 0.0
        self._throttle_notice_at = 0.0
        self._waiting: list[tuple[float, str, dict[str, Any], Any]] = []  # as Outbox._frames
        self._handler: asyncio.Task[None] | None = None

    # ---- the handler API (SocketContext) ---------------------------------------------------------------

    def send(self, frame: dict[str, Any]) -> None:
        self.outbox.control(frames.encode(frame))

    def is_subscribed(self, channel: str) -> bool:
        return channel in self.memberships

    # ---- incoming --------------------------------------------------------------------------------------

    async def receive(self, text: str | None, data: bytes | None) -> None:
        now = time.monotonic()
        self.last_seen = now
        self.unanswered_pings = 0
        if text is None:
            self.outbox.control(frames.error("bad_frame", "send JSON in text frames"))
            return
        if len(text) > self._max_frame or (
            len(text) * 4 > self._max_frame and len(text.encode()) > self._max_frame
        ):
            self.outbox.control(
                frames.error("frame_too_large", f"frames are limited to {self._max_frame} bytes")
            )
            return
        wait = self._budget.take(now)
        if wait:
            await self._throttled(now, wait)
            return
        if (reason := json_problem(text)) is not None:  # before parsing: the same rule as HTTP bodies
            self.outbox.control(frames.error("bad_frame", reason))
            return
        try:
            frame = frames.decode(text)
        except msgspec.DecodeError:
            self.outbox.control(frames.error("bad_frame", "not valid JSON"))
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            self.outbox.control(frames.error("bad_frame", 'a frame is a JSON object with a string "type"'))
            return
        ref = frame.get("id")
        if ref is not None and (
            isinstance(ref, bool)
            or not isinstance(ref, int | str)
            or (isinstance(ref, str) and len(ref) > 64)
        ):
            self.outbox.control(frames.error("invalid_frame", '"id" is an integer or a short string'))
            return
        kind = frame["type"]
        if kind == "pong":
            return
        if kind == "ping":  # answered at once: clients read the server's clock from it
            reply: dict[str, Any] = {"type": "pong", "now": epoch_ms()}
            if ref is not None:
                reply["id"] = ref
            self.send(reply)
            return
        self._queue(kind, frame, ref)

    def _queue(self, kind: str, frame: dict[str, Any], ref: Any) -> None:
        """Frames are handled one at a time and in order, by a task apart from the socket's reader: while
        one waits on the database, the socket is still read (heartbeats, closes, the next frames). At most
        MAX_WAITING_FRAMES wait behind the one being handled (which is never among them, however soon its
        task starts)."""
        if self.closed:
            return
        item = (time.monotonic(), kind, frame, ref)
        if self._handler is None:
            self._handler = asyncio.create_task(self._handle_waiting(item))
        elif len(self._waiting) >= MAX_WAITING_FRAMES:
            self._busy(ref)
        else:
            self._waiting.append(item)

    async def _handle_waiting(self, first: tuple[float, str, dict[str, Any], Any]) -> None:
        item: tuple[float, str, dict[str, Any], Any] | None = first
        try:
            while item is not None and not self.closed:
                arrived, kind, frame, ref = item
                if time.monotonic() - arrived > MAX_FRAME_WAIT_SECONDS:
                    self._busy(ref)
                else:
                    await self._dispatch(kind, frame, ref)
                item = self._waiting.pop(0) if self._waiting else None
        finally:
            self._handler = None

    def _busy(self, ref: Any) -> None:
        self.outbox.control(
            frames.error("unavailable", "the service is busy; retry shortly", ref, retry_after_ms=1000)
        )

    async def settled(self) -> None:
        """Returns once no frame of this socket is being handled (after `stop`, none starts again)."""
        handler = self._handler
        if handler is not None and handler is not asyncio.current_task():
            await asyncio.wait([handler])

    async def _dispatch(self, kind: str, frame: dict[str, Any], ref: Any) -> None:
        try:
            if kind == "subscribe":
                await self.realtime.subscribe(self, msgspec.convert(frame, frames.Subscribe), ref)
            elif kind == "unsubscribe":
                request = msgspec.convert(frame, frames.Unsubscribe)
                await self.realtime.unsubscribe(self, request.channel)
                self.send({"type": "unsubscribed", "id": ref, "channel": request.channel})
            else:
                await self._extension(kind, frame, ref)
        except msgspec.ValidationError as exc:
            self.outbox.control(frames.error("invalid_frame", str(exc), ref))
        except DomainError as exc:
            self.outbox.control(frames.error(exc.code, exc.message, ref))
        except Exception as exc:
            if is_out_of_range(exc):  # as HTTP's 400: an id too large for any row
                self.outbox.control(
                    frames.error("invalid_frame", "a number in the frame is out of range", ref)
                )
                return
            if is_overload(exc):  # as HTTP's 503: the client may retry; no traceback per frame
                warn_overload("overloaded on socket frame %r: %s", kind, type(exc).__name__)
                self._busy(ref)
                return
            log.exception("socket frame %r failed", kind)
            self.outbox.control(frames.error("internal_error", "something went wrong on our side", ref))

    async def _extension(self, kind: str, frame: dict[str, Any], ref: Any) -> None:
        handler = self.realtime.frame_handler(kind)
        if handler is None:
            self.outbox.control(frames.error("unknown_type", f"unknown frame type {kind!r}", ref))
            return
        result = await handler(self, frame)
        if result is not None or ref is not None:
            self.send({"type": "reply", "id": ref, "for": kind, "data": result})

    async def _throttled(self, now: float, wait: float) -> None:
        if now - self._dropped_since > 1.0:
            self._dropped, self._dropped_since = 0, now
        self._dropped += 1
        if self._dropped > FLOOD_FACTOR * self._budget.rate:
            await self.close(1008, "too many frames")
            return
        if now - self._throttle_notice_at >= 1.0:
            self._throttle_notice_at = now
            self.outbox.control(
                frames.error(
                    "throttled",
                    f"more than {self._budget.rate:g} frames per second; frame dropped",
                    retry_after_ms=int(wait * 1000) + 1,
                )
            )

    # ---- closing ---------------------------------------------------------------------------------------

    async def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.outbox.stop()
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._send({"type": "websocket.close", "code": code, "reason": reason})
        except Exception:
            log.debug("close of %s did not complete", self.connection_id)

    def stop(self) -> None:
        """The socket is gone: stop sending, and drop the frames not yet handled."""
        self.closed = True
        self.outbox.stop()
        self._waiting.clear()
