"""The hub of one node (`Services.realtime`): channel kinds and frame handlers registered by the
areas, the node's sockets, subscribe/resume, heartbeats, and publishing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from engage.platform.channels import NodeChannelsPlugin, SequencedBackend
from engage.platform.clock import epoch_ms
from engage.platform.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from engage.platform.events import DomainEvent
from engage.platform.identity import Identity
from engage.platform.runtime import Runtime
from engage.realtime import frames
from engage.realtime.connection import MAX_SUBSCRIPTIONS, Connection, SocketContext
from engage.realtime.eager import Send
from engage.realtime.fanout import Fanout
from engage.realtime.kinds import ChannelKind, ChannelKinds, kind_name
from engage.realtime.publishing import Publishing
from engage.realtime.recovery import Recovery

log = logging.getLogger("engage.realtime")

FrameHandler = Callable[[SocketContext, dict[str, Any]], Awaitable[Any]]
DisconnectHook = Callable[[SocketContext], Awaitable[None]]

_EXTENSION_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class Realtime:
    def __init__(self, runtime: Runtime) -> None:
        backend = runtime.channels
        if not isinstance(backend, SequencedBackend):
            raise TypeError("the real-time hub needs a SequencedBackend (engage.platform.channels)")
        self.runtime = runtime
        self.kinds = ChannelKinds()
        self.plugin = NodeChannelsPlugin(backend)
        self.publishing = Publishing(backend, self.kinds)
        self.connections: set[Connection] = set()
        self._recovery = Recovery(backend)
        self._fanout = Fanout(self.plugin, self._recovery)
        self._handlers: dict[str, FrameHandler] = {}
        self._disconnect_hooks: list[DisconnectHook] = []
        self._loops: list[asyncio.Task[None]] = []
        backend.on_reconnect = self._fanout.recheck_all

    # ---- what other areas register (in engage/wiring.py) ---------------------------------------------

    def register_kind(self, kind: ChannelKind) -> None:
        self.kinds.register(kind)

    def on_frame(self, frame_type: str, handler: FrameHandler) -> None:
        if not _EXTENSION_TYPE.match(frame_type):
            raise ValueError(f"frame types of areas look like 'area.action', not {frame_type!r}")
        if frame_type in self._handlers:
            raise ValueError(f"frame type {frame_type!r} already has a handler")
        self._handlers[frame_type] = handler

    def on_disconnect(self, hook: DisconnectHook) -> None:
        self._disconnect_hooks.append(hook)

    def frame_handler(self, frame_type: str) -> FrameHandler | None:
        return self._handlers.get(frame_type)

    # ---- publishing ------------------------------------------------------------------------------------

    async def publish(self, channel: str, event: str, data: dict[str, Any]) -> None:
        """Publish outside a transaction (inside one, use engage.platform.events.record)."""
        await self.publishing.deliver([DomainEvent(event, data, (channel,))])

    async def publish_ephemeral(self, channel: str, event: str, data: dict[str, Any]) -> None:
        """Live only: not numbered, not kept, not replayed (typing indicators)."""
        await self.publishing.ephemeral(channel, event, data)

    # ---- sockets ---------------------------------------------------------------------------------------

    def attach(self, identity: Identity, send: Send) -> Connection:
        self._start()
        conn = Connection(self, identity, send)
        self.connections.add(conn)
        settings = self.runtime.settings
        conn.send(
            {
                "type": "welcome",
                "connection": conn.connection_id,
                "user_id": identity.user_id,
                "guest": identity.user_id is None,
                "now": epoch_ms(),
                "heartbeat": settings.ws_heartbeat_seconds,
                "limits": {
                    "max_frame_bytes": settings.ws_max_frame_bytes,
                    "frames_per_second": settings.ws_frames_per_second,
                    "subscriptions": MAX_SUBSCRIPTIONS,
                },
            }
        )
        return conn

    async def detach(self, conn: Connection) -> None:
        self.connections.discard(conn)
        conn.stop()
        await conn.settled()  # a frame being handled may still join a channel: let it finish first
        for channel in list(conn.memberships):
            await self._fanout.leave(conn, channel)
        for hook in self._disconnect_hooks:
            try:
                await hook(conn)
            except Exception:
                log.exception("disconnect hook %r failed", hook)

    async def subscribe(self, conn: Connection, request: frames.Subscribe, ref: Any) -> None:
        channel = request.channel
        kind = self.kinds.of(channel)
        if kind is None:
            if kind_name(channel) is None:
                raise InvalidInput(f"{channel!r} is not a channel name", code="bad_channel")
            raise NotFound(f"there are no {kind_name(channel)!r} channels", code="unknown_channel")
        if channel not in conn.memberships and len(conn.memberships) >= MAX_SUBSCRIPTIONS:
            raise Conflict(
                f"at most {MAX_SUBSCRIPTIONS} subscriptions per socket", code="too_many_subscriptions"
            )
        if not await kind.authorize(conn.identity, channel):
            who = "sign in to watch" if conn.identity.user_id is None else "you may not watch"
            raise PermissionDenied(f"{who} {channel}", code="forbidden")
        membership = await self._fanout.join(conn, channel, kind)
        try:
            resumed = await self._recovery.resume(kind, channel, conn.identity, request.since)
        except BaseException:
            await self._fanout.leave(conn, channel)
            raise
        if conn.closed or conn.memberships.get(channel) is not membership:
            return  # unsubscribed or resubscribed meanwhile
        reply: dict[str, Any] = {"type": "subscribed"}
        if ref is not None:
            reply["id"] = ref
        reply |= {
            "channel": channel,
            "policy": kind.policy,
            "epoch": resumed.epoch,
            "seq": resumed.seq,
            "recovered": resumed.recovered,
            "events": [msgspec.Raw(text.encode()) for text in resumed.events],
            "snapshot": resumed.snapshot,
            "now": epoch_ms(),
        }
        conn.outbox.control(frames.encode(reply))
        self._fanout.ready(membership, channel, resumed.epoch, resumed.seq)

    async def unsubscribe(self, conn: Connection, channel: str) -> None:
        await self._fanout.leave(conn, channel)

    # ---- node lifecycle --------------------------------------------------------------------------------

    def _start(self) -> None:
        if not self._loops:
            self._loops = [
                asyncio.create_task(self._heartbeat(), name="ws-heartbeat"),
                asyncio.create_task(self._fanout.run_checks(), name="ws-position-checks"),
            ]

    async def _heartbeat(self) -> None:
        """Each interval, ping the sockets that were sent nothing since the last tick (a socket receiving
        events already knows the line is alive; the server's protocol-level pings watch its peer); close
        those that left two pings in a row unanswered. Counted in pings, not wall-clock time, so a busy
        node does not condemn sockets whose answers it has yet to read."""
        interval = self.runtime.settings.ws_heartbeat_seconds
        closing: set[asyncio.Task[None]] = set()
        while True:
            await asyncio.sleep(interval)
            ping = frames.encode({"type": "ping", "now": epoch_ms()})
            for conn in list(self.connections):
                if conn.closed:
                    continue
                if conn.outbox.sent != conn.sent_at_tick:
                    conn.sent_at_tick = conn.outbox.sent
                elif conn.unanswered_pings >= 2:
                    task = asyncio.create_task(conn.close(4001, "no heartbeat"))
                    closing.add(task)
                    task.add_done_callback(closing.discard)
                else:
                    conn.unanswered_pings += 1
                    conn.outbox.control(ping)
                    conn.sent_at_tick = conn.outbox.sent

    async def aclose(self) -> None:
        for task in self._loops:
            task.cancel()
        for task in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loops = []
        try:
            await self.publishing.coalescer.drain()
        except Exception:
            log.warning("held real-time events were not published at shutdown", exc_info=True)

    def watchers(self, channel: str) -> int:
        """Sockets of this node subscribed to `channel` (other nodes are not counted)."""
        state = self._fanout.channels.get(channel)
        return len(state.members) if state is not None else 0

    def stats(self) -> dict[str, int]:
        """Sizes of every per-connection and per-channel structure (metrics, and the leak test)."""
        backend = self.plugin.backend
        return {
            "connections": len(self.connections),
            "channels": len(self._fanout.channels),
            "feeds": self.plugin.channel_count,
            "backend_channels": getattr(backend, "channel_count", 0),
            "coalescing": len(self.publishing.coalescer),
        }
