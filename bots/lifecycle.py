"""Web-process start and stop for the bots: load the model and the indexes in the background, follow updates.

Nothing here makes the server wait: /ready answers while the model loads, and the first searches use the
index as far as it is built (the backlog's drainer fills it in, see workers/search.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from litestar import Litestar

from bots.search.live import follow

log = logging.getLogger("engage.search")

_TASKS = "bots.background_tasks"


async def _load_indexes(runtime: Any) -> None:
    try:
        async with runtime.sessionmaker() as session:
            await runtime.services["search"].index.ensure_loaded(session)
            await session.commit()
        async with runtime.sessionmaker() as session:
            await runtime.services["bot"].knowledge.ensure_loaded(session)
            await session.commit()
    except Exception:  # the first request tries again
        log.exception("could not load the search index at start")


async def on_startup(app: Litestar) -> None:
    runtime = app.state.runtime
    runtime.services["embedder"].warm_up()  # returns at once; the model loads in its thread
    app.state[_TASKS] = [
        asyncio.create_task(_load_indexes(runtime), name="bots-load-indexes"),
        asyncio.create_task(follow(runtime), name="bots-follow"),
    ]


async def on_shutdown(app: Litestar) -> None:
    for task in app.state.get(_TASKS, []):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
