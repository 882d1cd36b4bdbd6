"""A restock of a variant with 100,000 waiting back-in-stock signups: the time from the stock change to the
first wave's pushes leaving, and signups told per second by one worker, beside that worker's own campaign
pushes per second to the same devices in the same run (the baseline: the same encryption, signing and
sending, without the alerts' rules).

    /work/main/.venv/bin/python loadtests/stock_alert_restock.py                       # 100,000 waiting
    /work/main/.venv/bin/python loadtests/stock_alert_restock.py --waiting 5000 --units 200   # a quick look

What runs (127.0.0.1 only; everything stopped and dropped at the end):

- the push service of tests/push/push_service.py in its own process (`--quiet`: it checks every VAPID token,
  decrypts every body, answers 201 and counts duplicates);
- a scratch PostgreSQL database at head and a Redis prefix of the run's own; `--waiting` guests, each with
  one push subscription and a "notify me" on one sold-out variant (oldest first, a second apart);
- `engage serve` and `engage worker` in production mode (PostgreSQL, Redis, arq);
- an admin receives `--units` units through `POST /api/admin/variants/{id}/stock`: the node's sink queues the
  wave (after its one-second coalescing pause), the worker takes the oldest `units x ENGAGE_ALERTS_WAVE_FACTOR`
  signups and tells each (push preferences, quiet hours, one message per alert and device).

Printed: seconds from the restock's answer to the first push at the push service, to the whole first wave,
signups told per second (first wave), the campaign baseline's pushes per second, and the push service's
statuses and duplicates. The run stops after the first wave (the next one waits ENGAGE_ALERTS_WAVE_SECONDS).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadtests.benchlib import (  # noqa: E402
    PYTHON,
    create_database,
    drop_database,
    free_port,
    load_average,
    production_env,
    spawn,
    stop,
    wait_ready,
)
from loadtests.push_send import campaign_state, control, start_campaign, store_audience  # noqa: E402

SUBJECT = "mailto:bench@example.com"
PASSWORD = "bench-password-1234"
FACTOR = 3.0


async def store_signups(
    url: str, variant_id: int, public_key: str, subscriptions: list[dict[str, Any]]
) -> None:
    """A guest per subscription, each waiting for `variant_id`, the oldest first."""
    from sqlalchemy import insert, select, text

    from engage.alerts.models import StockAlert
    from engage.platform.clock import utcnow
    from engage.platform.db import make_engine
    from engage.push.models import PushSubscription

    await store_audience(url, public_key, subscriptions)  # guests opted in, one subscription each
    engine = make_engine(url)
    start = utcnow() - timedelta(seconds=len(subscriptions))
    async with engine.begin() as conn:
        owners = [
            o for (o,) in await conn.execute(select(PushSubscription.owner_key).order_by(PushSubscription.id))
        ]
        for first in range(0, len(owners), 5000):
            await conn.execute(
                insert(StockAlert),
                [
                    {
                        "variant_id": variant_id,
                        "owner_key": owner,
                        "user_id": None,
                        "email": "",
                        "state": "waiting",
                        "wave": "",
                        "channel": "",
                        "created_at": start + timedelta(seconds=first + n),
                    }
                    for n, owner in enumerate(owners[first : first + 5000])
                ],
            )
        await conn.execute(text("ANALYZE stock_alerts"))
    await engine.dispose()


async def admin_token(url: str, base: str) -> str:
    from engage.auth import create_user
    from engage.platform.db import make_engine, make_sessionmaker
    from engage.platform.identity import Role

    engine = make_engine(url)
    async with make_sessionmaker(engine)() as session:
        await create_user(session, email="admin@bench.test", password=PASSWORD, role=Role.admin)
    await engine.dispose()
    async with httpx.AsyncClient(base_url=base) as http:
        res = await http.post(
            "/api/auth/tokens", json={"email": "admin@bench.test", "password": PASSWORD, "name": "bench"}
        )
        res.raise_for_status()
        return str(res.json()["token"])


def pushes(origin: str) -> int:
    return sum(control(origin, "/_control/stats")["statuses"].values())


def wait_pushes(origin: str, at_least: int, started: float, limit: float) -> float:
    """Seconds from `started` until the push service has seen `at_least` pushes (polled every 20 ms)."""
    while pushes(origin) < at_least:
        if time.perf_counter() - started > limit:
            raise RuntimeError(f"{pushes(origin)} pushes of {at_least} after {limit:.0f} s")
        time.sleep(0.02)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--waiting", type=int, default=100_000, help="signups waiting for the variant")
    parser.add_argument("--units", type=int, default=1000, help="units received")
    parser.add_argument("--baseline", type=int, default=3000, help="campaign pushes for the baseline")
    parser.add_argument("--json", type=Path, help="also write the figures here (loadtests/run_all.py)")
    args = parser.parse_args()

    from engage.push.vapid import generate_keys, keys_from_text, keys_to_text

    run_id = uuid.uuid4().hex[:8]
    db_name, prefix = f"engage_bench_{run_id}", f"engage-bench-{run_id}"
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    key_text = keys_to_text(generate_keys())
    public_key = keys_from_text(key_text).public_key
    wave = min(args.waiting, int(args.units * FACTOR))
    ok = False
    with tempfile.TemporaryDirectory(prefix="stock-alert-") as scratch_dir:
        scratch = Path(scratch_dir)
        service = spawn(
            [PYTHON, "-m", "tests.push.push_service", "--port", str(port), "--quiet"], scratch / "service.log"
        )
        node = worker = None
        try:
            wait_ready(f"{origin}/_control/stats", timeout=30, process=service)
            url = asyncio.run(create_database(db_name))
            env = production_env(
                url,
                prefix,
                ENGAGE_VAPID_PRIVATE_KEY=key_text,
                ENGAGE_VAPID_SUBJECT=SUBJECT,
                ENGAGE_PUSH_ALLOWED_ENDPOINTS=f"{origin}/push/",
                ENGAGE_PUSH_FREQUENCY_CAP="0/day",
                ENGAGE_ALERTS_WAVE_FACTOR=str(FACTOR),
                ENGAGE_TWO_FACTOR_ROLES="",
                ENGAGE_RATE_LIMIT_API="10000000/minute",
                ENGAGE_DATA_DIR=str(scratch),
                ENGAGE_BOT_IN_CHAT="false",
            )
            node_port = free_port()
            base = f"http://127.0.0.1:{node_port}"
            node = spawn(
                [PYTHON, "-m", "engage.cli", "serve", "--port", str(node_port)], scratch / "serve.log", env
            )
            wait_ready(f"{base}/ready", process=node)
            token = asyncio.run(admin_token(url, base))
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
                made = http.post(
                    "/api/admin/products",
                    json={
                        "handle": "bench-boots",
                        "name": "Bench boots",
                        "variants": [{"sku": "BENCH-BOOTS-42", "price_cents": 8900, "stock": 0}],
                    },
                )
                made.raise_for_status()
                variant_id = made.json()["variants"][0]["id"]

                filled = time.perf_counter()
                subscriptions = control(
                    origin,
                    "/_control/subscriptions",
                    {"count": args.waiting, "application_server_key": public_key},
                )
                asyncio.run(store_signups(url, variant_id, public_key, subscriptions))
                del subscriptions
                print(
                    f"{args.waiting:,} signups with a device each stored in {time.perf_counter() - filled:.1f} s"
                )

                worker = spawn([PYTHON, "-m", "engage.cli", "worker"], scratch / "worker.log", env)
                time.sleep(8)  # arq's first poll and the startup cron jobs pass
                if worker.poll() is not None:
                    raise RuntimeError((scratch / "worker.log").read_text(errors="replace")[-3000:])
                print(f"load average: {load_average()}")

                control(origin, "/_control/reset", {})
                received = http.post(f"/api/admin/variants/{variant_id}/stock", json={"restock": args.units})
                started = time.perf_counter()
                received.raise_for_status()
                first = wait_pushes(origin, 1, started, 120)
                whole = wait_pushes(origin, wave, started, 1800)
            stats = control(origin, "/_control/stats")
            told_rate = wave / whole

            control(origin, "/_control/reset", {})
            baseline_started = time.perf_counter()
            campaign_id = asyncio.run(start_campaign(url, prefix))
            counted = min(args.baseline, args.waiting)
            campaign_rate = counted / wait_pushes(origin, counted, baseline_started, 1800)
            status, _ = asyncio.run(campaign_state(url, campaign_id))
            print(
                f"restock of {args.units:,} units, {args.waiting:,} waiting, first wave {wave:,} (factor {FACTOR}):\n"
                f"  first push {first * 1000:,.0f} ms after the restock's answer (the sink's coalescing pause is 1 s)\n"
                f"  whole first wave in {whole:.1f} s: {told_rate:,.0f} signups told per second\n"
                f"  push service: {stats['statuses']}, duplicates {stats['duplicates']}\n"
                f"baseline, the same worker's campaign to the same devices: {campaign_rate:,.0f} pushes/s "
                f"(campaign {status} when measured)\n"
                f"ratio: {told_rate / campaign_rate:.2f}x the campaign's rate"
            )
            ok = stats["duplicates"] == 0 and stats["statuses"] == {"201": wave}
            if args.json:
                figures = {
                    "waiting": args.waiting,
                    "units": args.units,
                    "wave": wave,
                    "first_push_s": first,
                    "wave_s": whole,
                    "told_per_s": told_rate,
                    "campaign_per_s": campaign_rate,
                    "statuses": stats["statuses"],
                    "duplicates": stats["duplicates"],
                    "ok": ok,
                }
                args.json.write_text(json.dumps(figures, indent=2))
        finally:
            for process in (worker, node):
                if process is not None:
                    stop(process)
            stop(service)
            asyncio.run(drop_database(db_name, prefix))
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
