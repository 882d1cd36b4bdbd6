"""Channel kinds: what a channel name means, who may watch it, and how its events are delivered.

A kind is registered by the name's prefix (`product` matches `product:aud-001`; `agents` matches the bare
name `agents`). Other areas register their kinds in `engage/wiring.py`; nothing registers on import.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from engage.platform.identity import Identity

Policy = Literal["latest", "reliable"]
Sequencing = Literal["hub", "domain"]

# `kind` or `kind:id`; ids are handles, numbers or opaque tokens. 100 characters covers every id we mint.
CHANNEL_NAME = re.compile(r"^(?P<kind>[a-z][a-z0-9_-]{0,31})(?::(?P<id>[A-Za-z0-9_.@-]{1,64}))?$")
MAX_CHANNEL_NAME = 100


@dataclass(frozen=True, slots=True)
class Publication:
    """One event of a channel at a position, as recovery providers return them."""

    seq: int
    event: str
    data: dict[str, Any]
    ts: int  # epoch milliseconds (server clock)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A snapshot with the channel position it reflects (required for `sequencing="domain"` kinds)."""

    data: Any
    seq: int | None = None


Authorizer = Callable[[Identity, str], Awaitable[bool]]
SnapshotProvider = Callable[[Identity, str], Awaitable[Any]]
RecoveryProvider = Callable[[str, int], Awaitable[list[Publication] | None]]
CoalesceKey = Callable[[str, dict[str, Any]], str]


def by_event_type(event: str, data: dict[str, Any]) -> str:
    return event


@dataclass(frozen=True)
class ChannelKind:
    """How channels named `prefix` or `prefix:{id}` behave.

    authorize   async (identity, channel) -> bool, asked on every subscribe (closures built in wiring
                reach the database through the runtime).
    policy      "latest": only the newest value per `coalesce` key matters (stock, countdowns): bursts are
                coalesced and slow sockets skip superseded frames. "reliable": every event matters; a socket
                that falls behind is told (`lagged`) and resumes from its last sequence.
    snapshot    async (identity, channel) -> data | Snapshot: the current state, sent on a fresh subscribe
                and when a client is too far behind to recover.
    sequencing  "hub": the hub numbers events (atomic with the publish) and keeps recent history for resume.
                "domain": the domain numbers them in its own transaction and puts the number in the event's
                `data["seq"]`; `recover` replays from the domain's store. Events without `data["seq"]` on
                such a channel are ephemeral (typing indicators): delivered live, never numbered or replayed.
    recover     async (channel, last_seq) -> [Publication] (everything after last_seq, in order) or None when
                it cannot (then the client gets recovered=false and a snapshot). "domain" kinds need it, and a
                snapshot provider returning Snapshot(data, seq).
    epoch       the stream epoch of "domain" channels (their numbering never resets).
    coalesce    (event type, data) -> key: frames with the same key on a `latest` channel supersede each
                other (default: the event type).
    """

    prefix: str
    authorize: Authorizer
    policy: Policy = "reliable"
    snapshot: SnapshotProvider | None = None
    sequencing: Sequencing = "hub"
    recover: RecoveryProvider | None = None
    epoch: str = "db"
    coalesce: CoalesceKey = field(default=by_event_type)

    def __post_init__(self) -> None:
        if not CHANNEL_NAME.match(self.prefix) or ":" in self.prefix:
            raise ValueError(f"bad channel kind prefix {self.prefix!r}")
        if self.sequencing == "domain" and (self.recover is None or self.snapshot is None):
            raise ValueError(f"kind {self.prefix!r}: domain-sequenced kinds need recover and snapshot")


def kind_name(channel: str) -> str | None:
    """The kind part of a well-formed channel name, else None."""
    if len(channel) > MAX_CHANNEL_NAME:
        return None
    match = CHANNEL_NAME.match(channel)
    return match["kind"] if match else None


def channel_id(channel: str) -> str | None:
    match = CHANNEL_NAME.match(channel)
    return match["id"] if match else None


class ChannelKinds:
    """The registry: one kind per prefix."""

    def __init__(self) -> None:
        self._kinds: dict[str, ChannelKind] = {}

    def register(self, kind: ChannelKind) -> None:
        if kind.prefix in self._kinds:
            raise ValueError(f"channel kind {kind.prefix!r} is already registered")
        self._kinds[kind.prefix] = kind

    def of(self, channel: str) -> ChannelKind | None:
        name = kind_name(channel)
        return self._kinds.get(name) if name is not None else None

    def __contains__(self, prefix: str) -> bool:
        return prefix in self._kinds
