"""The real-time hub: one WebSocket per tab, channels with numbered events, resume after reconnect.

Other areas use: `ChannelKind` (+ `Publication`, `Snapshot`) to register channel kinds, `SocketContext` in
frame handlers, and `Realtime` (`Services.realtime`) to register both. docs/protocol.md.
"""

from engage.realtime.connection import SocketContext
from engage.realtime.hub import Realtime
from engage.realtime.kinds import ChannelKind, Publication, Snapshot

__all__ = ["ChannelKind", "Publication", "Realtime", "Snapshot", "SocketContext"]
