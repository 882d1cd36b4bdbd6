"""Resume: everything a socket (or a node) missed after a position, or "too far behind" and a snapshot.

Never a partial recovery: either every event after the position is still held (channel history, or the
domain's store through the kind's recovery provider), or none is returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engage.platform.channels import SequencedBackend, sequenced_frame
from engage.platform.identity import Identity
from engage.realtime import frames
from engage.realtime.kinds import ChannelKind, Publication, Snapshot


@dataclass(frozen=True, slots=True)
class Resumed:
    epoch: str
    seq: int
    recovered: bool
    events: list[str]
    snapshot: Any = None


def publication_frame(kind: ChannelKind, channel: str, publication: Publication) -> bytes:
    key = kind.coalesce(publication.event, publication.data) if kind.policy == "latest" else None
    body = frames.event_body(channel, publication.event, publication.data, publication.ts, key)
    return sequenced_frame(kind.epoch, publication.seq, body)


def newest_per_key(events: list[tuple[frames.Head, str]]) -> list[tuple[frames.Head, str]]:
    """On a latest channel only the last frame of each key matters; keep those, in their order."""
    last = {head.key: i for i, (head, _) in enumerate(events)}
    return [event for i, event in enumerate(events) if last[event[0].key] == i]


class Recovery:
    def __init__(self, backend: SequencedBackend) -> None:
        self._backend = backend

    async def after(
        self, kind: ChannelKind, channel: str, epoch: str | None, seq: int
    ) -> list[tuple[frames.Head, str]] | None:
        """Every event of `channel` after (epoch, seq), in order, or None if they are not all held."""
        if kind.sequencing == "domain":
            if epoch != kind.epoch or kind.recover is None:
                return None
            publications = await kind.recover(channel, seq)
            if publications is None:
                return None
            encoded = [publication_frame(kind, channel, p) for p in publications]
        else:
            history = await self._backend.history(channel, seq)
            if history.epoch != epoch or history.frames is None:
                return None
            encoded = [frame for _, frame in history.frames]
        return [(frames.head_of(frame), frame.decode()) for frame in encoded]

    async def resume(
        self, kind: ChannelKind, channel: str, identity: Identity, since: frames.Since | None
    ) -> Resumed:
        if since is not None:
            missed = await self.after(kind, channel, since.epoch, since.seq)
            if missed is not None:
                if kind.policy == "latest":
                    missed = newest_per_key(missed)
                last = max((head.seq or 0 for head, _ in missed), default=since.seq)
                return Resumed(since.epoch, max(last, since.seq), True, [text for _, text in missed])
        if kind.sequencing == "domain":
            snapshot = await kind.snapshot(identity, channel) if kind.snapshot else None
            if not isinstance(snapshot, Snapshot) or snapshot.seq is None:
                raise TypeError(f"channel kind {kind.prefix!r} must snapshot as Snapshot(data, seq)")
            return Resumed(kind.epoch, snapshot.seq, False, [], snapshot.data)
        # the position first: whatever happens after it is delivered live, the snapshot may include it too
        position = await self._backend.history(channel)
        snapshot = await kind.snapshot(identity, channel) if kind.snapshot else None
        if isinstance(snapshot, Snapshot):
            snapshot = snapshot.data
        return Resumed(position.epoch, position.seq, False, [], snapshot)
