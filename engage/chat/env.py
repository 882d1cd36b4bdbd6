"""What chat needs from the process: its limits, the shared rate limiter, storage and the event publisher.

One `ChatEnv` per process lives in `runtime.services["chat"]` (set up in engage/wiring.py); every door hands
it to the domain functions, which stay free of Litestar and arq.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engage.chat.rate_limit import SenderRateLimit
from engage.platform.blobs import BlobStorage
from engage.platform.events import EventPublisher


@dataclass(frozen=True, slots=True)
class BotProfile:
    """Registered by the bot area as `runtime.services["chat_bot"]`; new conversations then start bot-owned."""

    name: str = "Assistant"


@dataclass(frozen=True, slots=True)
class ChatLimits:
    max_message_chars: int = 4000
    agent_capacity: int = 5
    first_response_seconds: int = 120
    retention_days: int = 365
    attachment_max_bytes: int = 10 * 1024 * 1024


@dataclass
class ChatEnv:
    limits: ChatLimits
    rate_limit: SenderRateLimit
    blobs: BlobStorage
    publisher: EventPublisher
    # the runtime's services: the bot area may register "chat_bot" after chat is wired
    services: Mapping[str, Any] = field(default_factory=dict)

    @property
    def bot(self) -> BotProfile | None:
        return self.services.get("chat_bot")
