"""A node's fan-out: one backend feed per channel that any local socket watches, passed on to those sockets.

Events reach a node in order of their numbers, except when Redis pub/sub lost some (a broken connection)
or when domain-numbered events of two nodes cross. The node keeps, per channel, the last number it passed
on; a gap is filled from history (or the kind's recovery provider) before anything newer goes out, so
sockets see every reliable channel in order and without holes. A node that cannot fill a gap tells the
sockets of reliable channels (`lagged`), and they resume.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from typing import TYPE_CHECKING, Any

from engage.platform.channels import ChannelFeed, NodeChannelsPlugin, SequencedBackend
from engage.realtime import frames
from engage.realtime.connection import Connection, Membership
from engage.realtime.kinds import ChannelKind

if TYPE_CHECKING:
    from engage.realtime.recovery import Recovery

log = logging.getLogger("engage.realtime")

# Live events held per subscribing socket while its resume is read; beyond that a reliable channel is
# resumed once more (the socket is told it lagged), a latest one keeps the newest frame per key.
_SUBSCRIBE_BUFFER = 1000
# Newly opened feeds are checked against the channel's position this long after opening: a publish that
# raced the backend SUBSCRIBE would otherwise wait for the next event to be noticed.
_FRESH_FEED_CHECK_SECONDS = 1.0


class ChannelState:
    __slots__ = ("epoch", "feed", "filling", "held", "kind", "members", "name", "opened", "seq")

    def __init__(self, name: str, kind: ChannelKind) -> None:
        self.name = name
        self.kind = kind
        self.members: dict[Connection, Membership] = {}
        self.feed: ChannelFeed | None = None
        self.opened = asyncio.get_running_loop().create_future()
        self.epoch: str | None = None
        self.seq: int | None = None  # last number passed on; None until known
        self.filling = False
        self.held: list[tuple[frames.Head, str]] = []


class Fanout:
    def __init__(self, plugin: NodeChannelsPlugin, recovery: Recovery) -> None:
        self._plugin = plugin
        self._backend: SequencedBackend = plugin.backend
        self._recovery = recovery
        self.channels: dict[str, ChannelState] = {}
        self._to_check: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- membership ------------------------------------------------------------------------------------

    async def join(self, conn: Connection, channel: str, kind: ChannelKind) -> Membership:
        """Register `conn` (buffering live events) and make sure this node's feed for `channel` is open."""
        state = self.channels.get(channel)
        if state is None:
            state = self.channels[channel] = ChannelState(channel, kind)
            self._spawn(self._open(state))
        if conn in state.members:  # subscribing again resyncs: the answer replaces what was queued
            conn.outbox.forget(channel)
        membership = state.members[conn] = Membership(conn)
        conn.memberships[channel] = membership
        await asyncio.shield(state.opened)
        return membership

    async def _open(self, state: ChannelState) -> None:
        try:
            state.feed = await self._plugin.open_feed(state.name, self._on_frame)
        except Exception as exc:
            self.channels.pop(state.name, None)
            state.opened.set_exception(exc)
            return
        state.opened.set_result(None)
        if self.channels.get(state.name) is not state:  # everyone left while it opened
            await self._plugin.close_feed(state.feed)
        elif not self._backend.lossless and state.kind.sequencing == "hub":
            self._to_check.add(state.name)

    async def leave(self, conn: Connection, channel: str) -> None:
        conn.memberships.pop(channel, None)
        conn.outbox.forget(channel)
        state = self.channels.get(channel)
        if state is None or state.members.pop(conn, None) is None or state.members:
            return
        del self.channels[channel]
        if state.feed is not None:
            await self._plugin.close_feed(state.feed)

    def ready(self, membership: Membership, channel: str, epoch: str, seq: int) -> None:
        """The socket got its `subscribed` answer at (epoch, seq): pass on what arrived meanwhile."""
        state = self.channels.get(channel)
        held, overflow = membership.buffer or [], membership.overflow
        membership.buffer, membership.overflow = None, False
        membership.epoch, membership.seq = epoch, seq
        if state is None:
            return
        if state.seq is None:
            state.epoch, state.seq = epoch, seq
        for head, text in held:
            self._pass_to(membership, state, head, text)
        if overflow and state.kind.policy == "reliable":
            self._lag(membership, channel)

    # ---- events from the backend -----------------------------------------------------------------------

    def _on_frame(self, channel: str, payload: bytes) -> None:
        state = self.channels.get(channel)
        if state is None:
            return
        head = frames.head_of(payload)
        text = payload.decode()
        if head.seq is None:  # ephemeral
            self._deliver(state, head, text)
        elif state.filling:
            state.held.append((head, text))
        else:
            self._sequenced(state, head, text)

    def _sequenced(self, state: ChannelState, head: frames.Head, text: str) -> None:
        seq = head.seq
        assert seq is not None
        if state.seq is None or head.epoch != state.epoch:
            state.epoch, state.seq = head.epoch, seq
        elif seq <= state.seq:
            return  # already passed on (a refill overlapping live delivery)
        elif seq > state.seq + 1:
            state.filling = True
            state.held.append((head, text))
            self._spawn(self._fill(state, seq - 1))
            return
        else:
            state.seq = seq
        self._deliver(state, head, text)

    async def _fill(self, state: ChannelState, upto: int) -> None:
        """Pass on what the node missed after `state.seq` (at least up to `upto`), then what it held."""
        assert state.seq is not None
        try:
            missed = await self._recovery.after(state.kind, state.name, state.epoch, state.seq)
        except Exception:
            log.exception("could not refill %s after %s", state.name, state.seq)
            missed = None
        if self.channels.get(state.name) is not state:
            return
        if missed is None:
            log.warning(
                "gap on %s after %s could not be filled; reliable sockets resume", state.name, state.seq
            )
            for membership in state.members.values():
                if membership.buffer is None and not membership.lagged and state.kind.policy == "reliable":
                    self._lag(membership, state.name)
            missed = []
            state.seq = max(state.seq, upto)
        for head, text in missed:
            if head.seq is not None and head.seq > state.seq:
                state.seq = head.seq
                self._deliver(state, head, text)
        held, state.held, state.filling = state.held, [], False
        for head, text in held:
            if state.filling:
                state.held.append((head, text))
            else:
                self._sequenced(state, head, text)

    # ---- to the sockets ----------------------------------------------------------------------------------

    def _deliver(self, state: ChannelState, head: frames.Head, text: str) -> None:
        for membership in state.members.values():
            if membership.buffer is not None:
                self._hold(membership, state, head, text)
            else:
                self._pass_to(membership, state, head, text)

    @staticmethod
    def _hold(membership: Membership, state: ChannelState, head: frames.Head, text: str) -> None:
        assert membership.buffer is not None
        if len(membership.buffer) < _SUBSCRIBE_BUFFER:
            membership.buffer.append((head, text))
        elif state.kind.policy == "latest":
            membership.buffer = [(h, t) for h, t in membership.buffer if h.key != head.key] + [(head, text)]
        else:
            membership.overflow = True

    def _pass_to(self, membership: Membership, state: ChannelState, head: frames.Head, text: str) -> None:
        if membership.lagged:
            return
        outbox = membership.conn.outbox
        if head.seq is None:
            if state.kind.policy == "latest":
                outbox.latest(state.name, head.key or "", text)
            else:
                outbox.reliable(text)  # ephemeral: dropped when the socket is behind
            return
        if head.epoch == membership.epoch and head.seq <= membership.seq:
            return
        if state.kind.policy == "latest":
            outbox.latest(state.name, head.key or "", text)
        elif not outbox.reliable(text):
            self._lag(membership, state.name)
            return
        membership.epoch, membership.seq = head.epoch, head.seq

    @staticmethod
    def _lag(membership: Membership, channel: str) -> None:
        membership.lagged = True
        membership.conn.outbox.control(
            frames.encode(
                {"type": "lagged", "channel": channel, "epoch": membership.epoch, "seq": membership.seq}
            )
        )

    # ---- positions ---------------------------------------------------------------------------------------

    def recheck_all(self) -> None:
        """After the backend reconnected: any channel may have missed events."""
        self._to_check.update(name for name, s in self.channels.items() if s.kind.sequencing == "hub")

    async def check_positions(self) -> None:
        """Compare what this node passed on with each channel's head; refill where behind."""
        names, self._to_check = [n for n in self._to_check if n in self.channels], set()
        for start in range(0, len(names), 500):
            batch = names[start : start + 500]
            for name, position in zip(batch, await self._backend.positions(batch), strict=True):
                state = self.channels.get(name)
                if state is None or state.filling:
                    continue
                if state.seq is None:
                    state.epoch, state.seq = position.epoch, position.seq
                elif position.epoch != state.epoch or position.seq > state.seq:
                    if position.epoch != state.epoch:
                        state.epoch, state.seq = position.epoch, 0
                    state.filling = True
                    self._spawn(self._fill(state, position.seq))

    async def run_checks(self) -> None:
        while True:
            await asyncio.sleep(_FRESH_FEED_CHECK_SECONDS)
            if self._to_check:
                try:
                    await self.check_positions()
                except Exception:
                    log.exception("channel position check failed")

    # ---- housekeeping ------------------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close_all(self, conns: Iterable[Connection]) -> None:
        for conn in list(conns):
            for channel in list(conn.memberships):
                await self.leave(conn, channel)
