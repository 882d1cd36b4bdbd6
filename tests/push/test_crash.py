"""A sending process killed with SIGKILL mid-campaign: the campaign finishes from where it was, every device
gets the message, and copies sent twice are at most what the dead sender had unsettled (the requests in
flight plus fewer than `flush_every` answers per batch out): the honest bound of docs/push.md."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from engage.push.vapid import keys_to_text
from engage.services import Services
from tests.conftest import ROOT
from tests.push.conftest import audience, eventually
from tests.push.push_service import PushService
from tests.push.test_campaigns import compose, let_go, mine, run, send


@pytest.fixture
def mode() -> str:
    return "production"


@pytest.mark.slow
async def test_a_killed_sender_resends_at_most_what_it_had_unsettled(
    push_services: Services, push_service: PushService, tmp_path: Path
) -> None:
    people = await audience(push_services, push_service, 600)
    campaign_id = await compose(push_services)
    await send(push_services, campaign_id)
    await let_go(push_services, campaign_id)
    settings = push_services.settings
    env = {
        **os.environ,
        "ENGAGE_ENV": "test",
        "ENGAGE_SECRET_KEY": settings.secret(),
        "ENGAGE_DATABASE_URL": settings.database_url,
        "ENGAGE_REDIS_URL": settings.redis_url,
        "ENGAGE_REDIS_PREFIX": settings.redis_prefix,
        "ENGAGE_DATA_DIR": str(tmp_path),
        "ENGAGE_VAPID_PRIVATE_KEY": keys_to_text(push_services.push.keys),
        "ENGAGE_PUSH_ALLOWED_ENDPOINTS": ",".join(settings.push_allowed_endpoints),
        "ENGAGE_PUSH_LEASE_SECONDS": "5",
        "ENGAGE_PUSH_FREQUENCY_CAP": "0/day",
        "ENGAGE_PUBLIC_URL": settings.public_url,
        "ENGAGE_LOG_LEVEL": "WARNING",
    }
    log = (tmp_path / "sender.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.push.crash_sender", str(campaign_id), cwd=ROOT, env=env, stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        await eventually(lambda: len(mine(push_service, people)) >= 150, within=60)
        process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(process.wait(), 10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    killed_at = len(mine(push_service, people))
    assert killed_at < 600, "killed midway"
    assert await run(push_services, campaign_id, within=60) == "sent"  # leases of 5 s run out; it resumes
    got = mine(push_service, people)
    per_device = Counter(d.subscription_id for d in got)
    assert len(per_device) == 600, "every device got it"
    twice = sum(n - 1 for n in per_device.values())
    policy = push_services.push.policy
    bound = policy.concurrency + 2 * policy.flush_every
    assert twice <= bound, f"{twice} copies sent twice, more than the dead sender could have had unsettled"
    # every second copy carries the first one's Topic (and tag): a push service or browser replaces it
    topics = {d.topic for d in got}
    assert topics == {f"c{campaign_id}"}
    print(f"killed after {killed_at} deliveries; {twice} sent twice (bound {bound})")
    # the shared push service counts duplicates for the whole run: these were this test's point
    for key in [k for k in push_service.duplicates if k[0] in per_device]:
        del push_service.duplicates[key]
