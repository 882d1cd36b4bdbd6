"""A campaign to 10,000 and 100,000 subscriptions, sent by one `engage worker`, beside pywebpush's own loop.

    /work/main/.venv/bin/python loadtests/push_send.py                       # 10,000 and 100,000
    /work/main/.venv/bin/python loadtests/push_send.py --sizes 2000 --webpush 300   # a quick look

What runs (127.0.0.1 only; everything stopped and dropped at the end):

- the push service of tests/push/push_service.py in its own process (`--quiet`: counters only): it checks
  every VAPID token, decrypts every body and answers 201, and counts duplicate message ids;
- a scratch PostgreSQL database at the schema's head and a Redis prefix of the run's own;
- per audience size: that many subscriptions (made by the push service, stored as guests opted in to offers),
  a fresh `engage worker` process (production mode: arq on Redis, PostgreSQL), a campaign "to everyone opted
  in", sent now: the worker's driver job draws the audience in keyset pages, claims batches under leases,
  encrypts, signs and POSTs them, and settles the outcomes, until the campaign is `sent`;
- the baseline, in this process, same run: pywebpush's `webpush()` loop (synchronous; signs and encrypts per
  call; a requests.Session), and Engage's bare `PushSender.send` (no database) for scale.

Figures: pushes/s of the worker (wall clock from "send" to "sent", drawing the audience included), the
worker's CPU per push, its RSS idle and at peak (VmHWM), the push service's statuses and duplicates.
Goals: >= 1,000 pushes/s per worker, >= 0.5x the pywebpush loop, memory flat as the audience grows,
0 duplicates.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadtests.benchlib import (  # noqa: E402
    PYTHON,
    REDIS,
    cpu_seconds,
    create_database,
    drop_database,
    free_port,
    load_average,
    production_env,
    spawn,
    stop,
    wait_ready,
)
from loadtests.push_baseline import pushsender_run, webpush_run  # noqa: E402

SUBJECT = "mailto:bench@example.com"


def control(origin: str, path: str, body: dict[str, Any] | None = None, timeout: float = 600) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(origin + path, data=data, method="POST" if data is not None else "GET")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)


def memory_kb(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            name, value = line.split(":", 1)
            out[name] = int(value.split()[0])
    return out


async def store_audience(url: str, public_key: str, subscriptions: list[dict[str, Any]]) -> None:
    """The subscriptions as the API would store them: one guest each, opted in to offers."""
    from sqlalchemy import insert, text

    from engage.platform.clock import utcnow
    from engage.platform.db import make_engine
    from engage.push.models import NotificationPreferences, PushSubscription
    from engage.push.preferences import DEFAULTS

    engine = make_engine(url)
    now = utcnow()
    defaults = {f"{t}_{c}": on for (t, c), on in DEFAULTS.items()}
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "TRUNCATE push_messages, push_campaign_history, push_campaign_variants, push_campaigns, push_subscriptions, notification_preferences CASCADE"
            )
        )
        for start in range(0, len(subscriptions), 5000):
            chunk = subscriptions[start : start + 5000]
            owners = [f"guest:{uuid.uuid4().hex}" for _ in chunk]
            await conn.execute(
                insert(NotificationPreferences),
                [
                    {
                        "owner_key": o,
                        "user_id": None,
                        **defaults,
                        "offers_push": True,
                        "marketing_unsubscribed": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for o in owners
                ],
            )
            await conn.execute(
                insert(PushSubscription),
                [
                    {
                        "endpoint": s["endpoint"],
                        "p256dh": s["keys"]["p256dh"],
                        "auth": s["keys"]["auth"],
                        "owner_key": o,
                        "user_id": None,
                        "user_agent": "bench",
                        "vapid_key": public_key,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for s, o in zip(chunk, owners, strict=True)
                ],
            )
        await conn.execute(text("ANALYZE push_subscriptions"))
        await conn.execute(text("ANALYZE notification_preferences"))
    await engine.dispose()


async def start_campaign(url: str, redis_prefix: str) -> int:
    """Compose "to everyone opted in", send now, and queue its driver job (what the web node's sink does)."""
    from arq import create_pool

    from engage.platform.db import make_engine, make_sessionmaker
    from engage.platform.identity import Identity, Role
    from engage.platform.redis import arq_redis_settings
    from engage.push import campaigns
    from engage.push.env import PushEnv, PushPolicy
    from engage.push.vapid import generate_keys

    engine = make_engine(url)
    env = PushEnv(keys=generate_keys(), sender=None, policy=PushPolicy(allowed_endpoints=()), secret=b"")  # type: ignore[arg-type]
    marketer = Identity(user_id=None, role=Role.marketer)
    async with make_sessionmaker(engine)() as session:
        draft = campaigns.Draft(
            name="Bench",
            content=campaigns.Content(title="Winter sale", body="Umbrellas -30 % until noon", url="/sale"),
        )
        campaign = await campaigns.create(session, env, marketer, draft)
        await campaigns.send_now(session, campaign.id, marketer)
    await engine.dispose()
    pool = await create_pool(arq_redis_settings(REDIS), default_queue_name=f"{redis_prefix}:jobs")
    await pool.enqueue_job(
        "push_campaign", campaign.id, _job_id=f"{redis_prefix}:jobs:push:campaign:{campaign.id}:bench"
    )
    await pool.aclose()
    return campaign.id


async def campaign_state(url: str, campaign_id: int) -> tuple[str, dict[str, int]]:
    from sqlalchemy import text

    from engage.platform.db import make_engine

    engine = make_engine(url)
    async with engine.connect() as conn:
        status = (
            await conn.execute(text("SELECT status FROM push_campaigns WHERE id = :i"), {"i": campaign_id})
        ).scalar()
        rows = await conn.execute(
            text("SELECT status, count(*) FROM push_messages WHERE campaign_id = :i GROUP BY status"),
            {"i": campaign_id},
        )
        counts = {s: int(n) for s, n in rows}
    await engine.dispose()
    return str(status), counts


def run_size(
    size: int, origin: str, url: str, env: dict[str, str], key_text: str, scratch: Path
) -> dict[str, Any]:
    from engage.push.vapid import keys_from_text

    public_key = keys_from_text(key_text).public_key
    made = time.perf_counter()
    subscriptions = control(
        origin, "/_control/subscriptions", {"count": size, "application_server_key": public_key}
    )
    asyncio.run(store_audience(url, public_key, subscriptions))
    del subscriptions
    print(f"  {size:,} subscriptions made and stored in {time.perf_counter() - made:.1f} s")
    log = scratch / f"worker-{size}.log"
    worker = spawn([PYTHON, "-m", "engage.cli", "worker"], log, env)
    try:
        import redis

        deadline = time.monotonic() + 120
        health = f"{env['ENGAGE_REDIS_PREFIX']}:jobs:health-check"
        client = redis.Redis.from_url(REDIS)
        client.delete(health)
        while not client.exists(health):  # arq records its health on its first poll
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        client.close()
        time.sleep(2)  # its startup cron jobs pass
        idle = memory_kb(worker.pid)
        control(origin, "/_control/reset", {})
        cpu_before = sum(cpu_seconds(worker.pid))
        started = time.perf_counter()
        campaign_id = asyncio.run(start_campaign(url, env["ENGAGE_REDIS_PREFIX"]))
        peak_rss = idle["VmRSS:"] if "VmRSS:" in idle else 0
        while True:
            time.sleep(0.5)
            peak_rss = max(peak_rss, memory_kb(worker.pid).get("VmRSS", 0))
            status, counts = asyncio.run(campaign_state(url, campaign_id))
            if status not in ("sending", "scheduled"):
                break
            if time.perf_counter() - started > 3600:
                raise RuntimeError(f"campaign still {status}: {counts}")
            if worker.poll() is not None:
                raise RuntimeError(f"the worker died:\n{log.read_text(errors='replace')[-3000:]}")
        wall = time.perf_counter() - started
        cpu = sum(cpu_seconds(worker.pid)) - cpu_before
        memory = memory_kb(worker.pid)
        stats = control(origin, "/_control/stats")
    finally:
        stop(worker)
    pushes = counts.get("sent", 0)
    return {
        "size": size,
        "status": status,
        "messages": counts,
        "wall": wall,
        "rate": pushes / wall if wall else 0.0,
        "cpu_us": cpu / pushes * 1e6 if pushes else 0.0,
        "rss_idle_mb": idle.get("VmRSS", 0) / 1024,
        "rss_peak_mb": memory.get("VmHWM", 0) / 1024,
        "service": stats,
        "ok": status == "sent"
        and pushes == size
        and stats["statuses"] == {"201": size}
        and stats["duplicates"] == 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=lambda t: [int(x) for x in t.split(",")], default=[10_000, 100_000])
    parser.add_argument("--webpush", type=int, default=1000, help="pywebpush webpush() calls (the baseline)")
    parser.add_argument("--sender", type=int, default=10_000, help="bare PushSender sends (no database)")
    parser.add_argument("--batch", type=int, default=200, help="ENGAGE_PUSH_BATCH_SIZE")
    parser.add_argument("--concurrency", type=int, default=100, help="ENGAGE_PUSH_CONCURRENCY")
    parser.add_argument("--json", type=Path, help="also write the figures here (loadtests/run_all.py)")
    args = parser.parse_args()

    from engage.push.delivery import PushTarget
    from engage.push.vapid import VapidSigner, generate_keys, keys_to_text

    run_id = uuid.uuid4().hex[:8]
    db_name, prefix = f"engage_push_{run_id}", f"engage-push-bench-{run_id}"
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    keys = generate_keys()
    key_text = keys_to_text(keys)
    results: list[dict[str, Any]] = []
    ok = True
    with tempfile.TemporaryDirectory(prefix="push-send-") as scratch_dir:
        scratch = Path(scratch_dir)
        service = spawn(
            [PYTHON, "-m", "tests.push.push_service", "--port", str(port), "--quiet"], scratch / "service.log"
        )
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
                ENGAGE_PUSH_BATCH_SIZE=str(args.batch),
                ENGAGE_PUSH_CONCURRENCY=str(args.concurrency),
                ENGAGE_DATA_DIR=str(scratch),
                ENGAGE_BOT_IN_CHAT="false",
            )
            print(f"load average before: {load_average()}")
            for size in args.sizes:
                print(f"campaign to {size:,} subscriptions:")
                result = run_size(size, origin, url, env, key_text, scratch)
                results.append(result)
                ok = ok and result["ok"]
                print(
                    f"  {result['status']} in {result['wall']:.1f} s: {result['rate']:,.0f} pushes/s, "
                    f"{result['cpu_us']:.0f} µs worker CPU per push, RSS idle {result['rss_idle_mb']:.0f} MB, "
                    f"peak {result['rss_peak_mb']:.0f} MB; messages {result['messages']}; "
                    f"push service {result['service']['statuses']}, duplicates {result['service']['duplicates']}"
                )
            print("baseline, this process:")
            control(origin, "/_control/reset", {})
            baseline_subs = control(origin, "/_control/subscriptions", {"count": 200})
            pem = scratch / "vapid.pem"
            pem.write_bytes(keys.private_pem)
            wp_rate, wp_cpu = webpush_run(baseline_subs, pem, args.webpush, True)
            wp_stats = control(origin, "/_control/stats")
            print(
                f"  pywebpush webpush() loop, a requests.Session: {wp_rate:,.0f} calls/s, {wp_cpu:.0f} µs CPU per call; {wp_stats['statuses']}"
            )
            ok = ok and wp_stats["statuses"] == {"201": args.webpush}
            targets = [PushTarget.from_subscription(s) for s in baseline_subs]
            control(origin, "/_control/reset", {})
            ps_rate, ps_cpu, outcomes = asyncio.run(
                pushsender_run(origin, VapidSigner(keys, SUBJECT), targets, args.sender, 100)
            )
            print(
                f"  PushSender.send alone (no database), 100 concurrent: {ps_rate:,.0f} sends/s, {ps_cpu:.0f} µs CPU per send; {outcomes}"
            )
            print(f"load average after: {load_average()}")
            print()
            print(
                "| audience | pushes/s (worker) | x pywebpush loop | µs CPU/push | RSS idle → peak MB | duplicates |"
            )
            print("|---|---|---|---|---|---|")
            for r in results:
                print(
                    f"| {r['size']:,} | {r['rate']:,.0f} | {r['rate'] / wp_rate:.2f} | {r['cpu_us']:.0f} | "
                    f"{r['rss_idle_mb']:.0f} → {r['rss_peak_mb']:.0f} | {r['service']['duplicates']} |"
                )
            print(f"| pywebpush loop | {wp_rate:,.0f} | 1.00 | {wp_cpu:.0f} | | |")
            print(f"| PushSender alone | {ps_rate:,.0f} | {ps_rate / wp_rate:.2f} | {ps_cpu:.0f} | | |")
            if args.json:
                figures = {
                    "sizes": results,
                    "webpush": {"rate": wp_rate, "cpu_us": wp_cpu, "statuses": wp_stats["statuses"]},
                    "pushsender": {"rate": ps_rate, "cpu_us": ps_cpu},
                    "ok": ok,
                }
                args.json.write_text(json.dumps(figures, indent=2))
        finally:
            stop(service)
            asyncio.run(drop_database(db_name, prefix))
    print("OK" if ok else "FAILED: not every subscription got the campaign exactly once")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
