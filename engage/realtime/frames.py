"""The wire format: JSON text frames (docs/protocol.md). Event frames are encoded once and sent as is to every
socket; the hub reads only their head (position and key)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from engage.platform.clock import epoch_ms

# Event data comes from domain code: anything msgspec cannot encode natively is sent as its string form.
_encode = msgspec.json.Encoder(enc_hook=str).encode
_decode_head = msgspec.json.Decoder().decode

FrameRef = int | Annotated[str, msgspec.Meta(max_length=64)]


class Head(msgspec.Struct):
    """The part of an event frame the hub routes by."""

    epoch: str | None = None
    seq: int | None = None
    key: str | None = None


head_of = msgspec.json.Decoder(Head).decode


class Since(msgspec.Struct, forbid_unknown_fields=True):
    epoch: str
    seq: Annotated[int, msgspec.Meta(ge=0)]


class Subscribe(msgspec.Struct):
    type: str
    channel: Annotated[str, msgspec.Meta(max_length=200)]
    id: FrameRef | None = None
    since: Since | None = None


class Unsubscribe(msgspec.Struct):
    type: str
    channel: Annotated[str, msgspec.Meta(max_length=200)]
    id: FrameRef | None = None


def event_body(channel: str, event: str, data: Any, ts: int, key: str | None = None) -> bytes:
    """An event frame's members without braces (the backend puts the position in front)."""
    frame: dict[str, Any] = {"type": "event", "channel": channel, "event": event, "ts": ts}
    if key is not None:
        frame["key"] = key
    frame["data"] = data
    return _encode(frame)[1:-1]


def unnumbered_event(channel: str, event: str, data: Any, ts: int | None = None) -> bytes:
    return b"{%s}" % event_body(channel, event, data, ts if ts is not None else epoch_ms())


def encode(frame: dict[str, Any]) -> str:
    return _encode(frame).decode()


def decode(raw: str | bytes) -> Any:
    return _decode_head(raw)


def error(code: str, message: str, ref: Any = None, **extra: Any) -> str:
    frame: dict[str, Any] = {"type": "error"}
    if ref is not None:
        frame["id"] = ref
    frame |= {"code": code, "message": message, **extra}
    return encode(frame)
