"""Connect, subscribe, disconnect, 10,000 times: what the node keeps per socket and per channel goes away."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.realtime.leak_probe import PARALLEL

pytestmark = pytest.mark.load

CYCLES = 10_000
WARM_UP = 1_000
# What 4,500 cycles may leave behind (free lists): under one object and one memory block per ten cycles, where
# a leaked socket, subscription or channel entry costs dozens of each.
ALLOWED_PER_CYCLE = 0.1


@pytest.fixture(params=["embedded", "production"])
def mode_env(
    request: pytest.FixtureRequest, prod_env: dict[str, str], sqlite_env: dict[str, str], tmp_path
) -> dict[str, str]:
    """Embedded: a data directory of its own (the shared one holds other tests' work for its jobs to do)."""
    return {**sqlite_env, "ENGAGE_DATA_DIR": str(tmp_path)} if request.param == "embedded" else prod_env


def test_memory_stays_flat_over_10000_connect_disconnect_cycles(mode_env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.realtime.leak_probe", str(CYCLES), str(WARM_UP)],
        env={**os.environ, **mode_env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(result)
    stats, measured = result["stats"], result["per_phase"]
    assert stats["connections"] == stats["channels"] == stats["feeds"] == stats["coalescing"] == 0
    assert stats["backend_channels"] <= PARALLEL + 1, "only the last touch's channels are remembered"
    assert result["objects"] < measured * ALLOWED_PER_CYCLE
    assert result["blocks"] < measured * ALLOWED_PER_CYCLE
