"""Schemathesis over the OpenAPI schema against a production-mode node (PostgreSQL, Redis): inputs made
from every operation's schema, sent as nobody, a shopper, an agent, a marketer and an admin; no answer
may be a 5xx. Deterministic (the same cases every run), bounded per operation."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engage.platform.identity import Role
from tests.conftest import Server, start_server

pytestmark = pytest.mark.nodes

EXAMPLES_PER_OPERATION = 8


@pytest.fixture(scope="module")
def node(prod_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(
        {**prod_env, "ENGAGE_RATE_LIMIT_API": "1000000/minute"}, tmp_path_factory.mktemp("schemathesis")
    )
    yield server
    server.stop()


@pytest.mark.parametrize("role", [None, Role.customer, Role.agent, Role.marketer, Role.admin])
async def test_no_input_gives_a_server_error(
    node: Server, make_account, role: Role | None, tmp_path: Path
) -> None:
    headers = []
    if role is not None:
        headers = ["--header", f"Authorization: Bearer {(await make_account(role)).token}"]
    run = subprocess.run(  # noqa: ASYNC221 - the node is another process; nothing here waits on this loop
        [
            str(Path(sys.executable).parent / "schemathesis"),  # beside this Python, in the venv
            "run",
            f"{node.url}/schema/openapi.json",
            "--checks",
            "not_a_server_error",
            "--phases",
            "examples,fuzzing",
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--generation-deterministic",
            "--request-timeout",
            "30",
            "--report-dir",
            str(tmp_path),
            *headers,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-6000:] + "\n" + node.logs()[-3000:]
