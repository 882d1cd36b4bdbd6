"""What chat needs from the process: its limits, the shared rate limiter, storage and the event publisher.

One `ChatEnv` per process (`Services.chat`, built in engage/wiring.py); every door hands it to the domain
functions, which stay free of Litestar and arq.
"""

from __future__ import annotations

from dataclasses import dataclass

from engage.chat.rate_limit import SenderRateLimit
from engage.platform.blobs import BlobStorage
from engage.platform.events import EventPublisher


@dataclass(frozen=True, slots=True)
class BotProfile:
    """Given by the bot area (`ChatEnv.bot`); new conversations then start bot-owned."""

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
    bot: BotProfile | None = None  # the bot area's profile: new conversations then start bot-owned
