"""Messages per sender per period (ENGAGE_CHAT_RATE_LIMIT), counted across every node.

The counting is the kernel's (`runtime.counter`: a fixed window, one atomic Redis round trip in production,
a dict embedded); chat only names the key and decides what "too many" means.
"""

from __future__ import annotations

from dataclasses import dataclass

from engage.platform.counters import WindowCounter
from engage.platform.errors import RateLimited


@dataclass(frozen=True)
class SenderRateLimit:
    counter: WindowCounter
    count: int  # messages per window; 0 or less: no limit
    seconds: int

    async def hit(self, sender_key: str) -> None:
        """Count one message by `sender_key`; raise RateLimited past the limit."""
        if self.count <= 0:
            return
        window = await self.counter.hit(f"chat:{sender_key}", self.seconds)
        if window.hits > self.count:
            raise RateLimited(
                f"you are sending messages too fast; at most {self.count} per {self.seconds} s",
                retry_after=window.resets_in,
                code="chat_rate_limited",
            )
