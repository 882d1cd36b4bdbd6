"""A campaign sender in a process of its own, for the crash test: `python -m tests.push.crash_sender ID`.

Settings come from the environment (the test passes its database, VAPID key and push service). It drives
the campaign until it is killed (the test sends SIGKILL) or done.
"""

from __future__ import annotations

import asyncio
import sys

from engage.config import load_settings
from engage.platform.db import make_engine, make_sessionmaker
from engage.push import sending
from engage.push.env import build_push_env


async def main(campaign_id: int) -> None:
    settings = load_settings()
    env = build_push_env(settings)
    engine = make_engine(settings.db_url, pool_size=5)
    sessionmaker = make_sessionmaker(engine)
    print("driving", flush=True)
    while True:
        again = await sending.drive(sessionmaker, env, campaign_id, budget_seconds=60)
        if again is None:
            return
        await asyncio.sleep(again)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
