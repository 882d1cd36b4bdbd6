"""Keeping the garbage collector out of a long-running server's way.

A web process keeps what it loads at start (the app, its libraries, the embedding model: about a million
objects with torch) for its whole life. CPython's full collections scan every tracked object; with that
many they take seconds and stall every request and socket of the process. Once start-up is done, those
objects move to the permanent generation (`gc.freeze`): later collections scan only what came after.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable

log = logging.getLogger("engage.heap")

# The embedding model takes seconds to load; a process that never finishes loading is frozen anyway.
_READY_TIMEOUT_SECONDS = 300.0
_POLL_SECONDS = 1.0


async def freeze_after_start(ready: Callable[[], bool]) -> None:
    """Wait until `ready()` (everything kept for life is loaded), collect once, then freeze what is left."""
    for _ in range(int(_READY_TIMEOUT_SECONDS / _POLL_SECONDS)):
        if ready():
            break
        await asyncio.sleep(_POLL_SECONDS)
    gc.collect()
    gc.freeze()
    log.info("froze %d start-up objects out of the garbage collector's scans", gc.get_freeze_count())
