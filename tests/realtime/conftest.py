"""In-process servers for hub tests: the real app under uvicorn in the test's event loop, real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import uvicorn

from engage.app import create_app
from engage.config import Settings
from engage.realtime import Realtime
from engage.wiring import build
from tests.conftest import free_port


@asynccontextmanager
async def serving(settings: Settings, *, periodic_jobs: bool = True) -> AsyncIterator[tuple[str, Realtime]]:
    """The app on a free port; yields its base URL and its hub."""
    app = create_app(settings, build(settings, run_cron=periodic_jobs))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            lifespan="on",
            log_level="warning",
            ws_max_size=max(4 * settings.ws_max_frame_bytes, 64 * 1024),
        )
    )
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(60):
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", app.state.services.realtime
    finally:
        server.should_exit = True
        await task


@pytest.fixture(params=["embedded", "production"])
def mode_settings(
    request: pytest.FixtureRequest, sqlite_settings: Settings, settings: Settings
) -> Callable[..., Settings]:
    """Settings of either mode, with overrides: SQLite + memory channels, or PostgreSQL + Redis."""
    base = sqlite_settings if request.param == "embedded" else settings

    def make(**overrides: Any) -> Settings:
        return base.model_copy(update=overrides)

    make.mode = request.param  # type: ignore[attr-defined]
    return make
