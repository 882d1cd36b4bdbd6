"""The app serves requests under every combination of the logging settings (one made every request a 500)."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator

import pytest

from engage.app import create_app
from engage.platform.logs import structlog_config
from tests.conftest import TEST_ENV, AppClient, running, settings_from

LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"]


@pytest.fixture(scope="module", autouse=True)
def restore_logging() -> Iterator[None]:
    """Each app configures logging process-wide: give the other tests theirs back afterwards."""
    yield
    structlog_config(level=TEST_ENV["ENGAGE_LOG_LEVEL"], as_json=True).configure()


@pytest.mark.parametrize(
    ("level", "as_json", "access_log"), list(itertools.product(LEVELS, [True, False], [True, False]))
)
async def test_every_logging_combination_serves_and_logs(
    level: str, as_json: bool, access_log: bool, sqlite_env, sqlite_settings, capfd
) -> None:
    settings = settings_from(
        {
            **sqlite_env,
            "ENGAGE_LOG_LEVEL": level,
            "ENGAGE_LOG_JSON": str(as_json).lower(),
            "ENGAGE_ACCESS_LOG": str(access_log).lower(),
        }
    )
    app = create_app(settings)
    async with running(app), AppClient(app, keep_cookies=False) as client:
        capfd.readouterr()
        for path in ("/api/auth/me", "/api/products?limit=1", "/no-such-page"):
            res = await client.get(path)
            assert res.status_code in (200, 404), (path, res.status_code, res.text)
        res = await client.post("/api/auth/login", json={"email": "nobody@example.test", "password": "x" * 8})
        assert res.status_code == 401, res.text
        out = capfd.readouterr()
        logging.getLogger().setLevel(logging.WARNING)  # nothing more into the capture about to close
    lines = [
        line for line in (out.out + out.err).splitlines() if "/api/auth/me" in line and "httpx" not in line
    ]
    if access_log and level in ("DEBUG", "INFO"):
        assert lines, "the access log has the request"
        if as_json:
            assert all(isinstance(json.loads(line), dict) for line in lines), lines
    elif not access_log:
        assert not lines, lines
