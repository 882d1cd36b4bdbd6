"""Keeping the garbage collector out of a long-running server's way.

A web process keeps what it loads at start (the app, its libraries, the embedding model: about a million
objects with torch) for its whole life. CPython's full collections scan every tracked object; with that
many they take seconds and stall every request and socket of the process. Once start-up is done, those
objects move to the permanent generation (`gc.freeze`): later collections scan only what came after.

A busy server also holds thousands of requests' objects at once (a flash sale's storm, a thousand chats),
which survive the young collections only to be dropped a few milliseconds later; at CPython's default pace
(a young collection every 700 allocations) the collector spent a third of a node's CPU on them in a
5,000-claimer storm. After start-up, a young collection runs every `YOUNG_COLLECTION_ALLOCATIONS` instead:
cyclic garbage waits a little longer (a few megabytes), the requests' objects are mostly gone by then.
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
YOUNG_COLLECTION_ALLOCATIONS = 50_000


async def freeze_after_start(ready: Callable[[], bool]) -> None:
    """Wait until `ready()` (everything kept for life is loaded), collect once, freeze what is left, then
    collect young objects less often."""
    for _ in range(int(_READY_TIMEOUT_SECONDS / _POLL_SECONDS)):
        if ready():
            break
        await asyncio.sleep(_POLL_SECONDS)
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_ALLOCATIONS, middle, old)
    log.info("froze %d start-up objects out of the garbage collector's scans", gc.get_freeze_count())
