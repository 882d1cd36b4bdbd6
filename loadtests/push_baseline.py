"""Web Push delivery baseline: `PushSender.send` against the loopback push service, and pywebpush's `webpush()`.

    /work/main/.venv/bin/python loadtests/push_baseline.py                      # 20,000 sends, 100 at a time
    /work/main/.venv/bin/python loadtests/push_baseline.py --messages 5000 --concurrency 50 --webpush 500

What runs (127.0.0.1 only; stopped at the end): the push service of tests/push/push_service.py in its own
process (`--quiet`: counters only), which checks every VAPID token, decrypts every body and answers 201;
`--subscriptions` subscriptions made through its control API. Then, in this process (one core):

- PushSender: `--messages` sends, `--concurrency` at a time, each a distinct JSON payload with a message_id
  (payload built, encrypted, signed from the per-origin cache, POSTed over pooled keep-alive connections);
- the CPU parts alone: `encrypt_payload` and `VapidSigner.authorization` in a loop;
- pywebpush's `webpush()` loop (synchronous; signs and encrypts per call; a fresh claims dict each call),
  `--webpush` calls with a requests.Session and as many without one (a new connection per call).

Figures: sends/s (wall clock) and this process's CPU per message; the service's CPU per request for scale.
The proof: every send accepted, the service counted exactly that many 201s, no duplicate message ids.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from py_vapid import Vapid02  # noqa: E402
from pywebpush import webpush  # noqa: E402

from engage.push.delivery import PushMessage, PushSender, PushTarget, encrypt_payload  # noqa: E402
from engage.push.vapid import VapidSigner, generate_keys  # noqa: E402
from loadtests.benchlib import PYTHON, cpu_seconds, free_port, load_average, spawn, stop, wait_ready  # noqa: E402

SUBJECT = "mailto:bench@example.com"


def control(origin: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(origin + path, data=data, method="POST" if data is not None else "GET")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


async def pushsender_run(
    origin: str, signer: VapidSigner, targets: list[PushTarget], messages: int, concurrency: int
) -> tuple[float, float, dict[str, int]]:
    """(sends/s, CPU µs per send, outcomes)."""
    outcomes: dict[str, int] = {}
    numbers = iter(range(messages))
    async with PushSender(signer, allowed_endpoints=None) as sender:

        async def worker() -> None:
            for number in numbers:
                message = PushMessage.json(
                    {
                        "message_id": number,
                        "title": "Flash sale",
                        "body": "Umbrellas -30 % until noon",
                        "url": "/s/1",
                    },
                    ttl=3600,
                    urgency="high",
                )
                result = await sender.send(targets[number % len(targets)], message)
                outcomes[str(result.outcome)] = outcomes.get(str(result.outcome), 0) + 1

        # open the pool's connections first, then count from zero
        await asyncio.gather(
            *(sender.send(t, PushMessage(b"warm-up", ttl=60)) for t in targets[:concurrency])
        )
        await asyncio.to_thread(control, origin, "/_control/reset", {})
        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return messages / wall, cpu / messages * 1e6, outcomes


def cpu_parts(signer: VapidSigner, target: PushTarget, rounds: int = 3000) -> tuple[float, float, float]:
    """CPU µs of: encrypting one payload, a cached Authorization, a fresh one (signing)."""
    payload = json.dumps(
        {"message_id": 1, "title": "Flash sale", "body": "Umbrellas -30 % until noon"}
    ).encode()
    started = time.process_time()
    for _ in range(rounds):
        encrypt_payload(target, payload)
    encrypt = (time.process_time() - started) / rounds * 1e6
    started = time.process_time()
    for _ in range(rounds):
        signer.authorization(target.endpoint)
    cached = (time.process_time() - started) / rounds * 1e6
    started = time.process_time()
    for _ in range(rounds):
        VapidSigner(signer.keys, SUBJECT).authorization(target.endpoint)
    fresh = (time.process_time() - started) / rounds * 1e6
    return encrypt, cached, fresh


def webpush_run(
    subscriptions: list[dict[str, Any]], vapid_pem: Path, calls: int, session: bool
) -> tuple[float, float]:
    """(calls/s, CPU µs per call) of pywebpush's own one-call API."""
    vapid = Vapid02.from_file(str(vapid_pem))
    http = requests.Session() if session else None
    started, cpu = time.perf_counter(), time.process_time()
    for number in range(calls):
        webpush(
            subscription_info=subscriptions[number % len(subscriptions)],
            data=json.dumps({"message_id": f"wp-{session}-{number}", "title": "Flash sale"}),
            vapid_private_key=vapid,
            vapid_claims={"sub": SUBJECT},  # webpush writes aud/exp into it: a fresh dict per call
            ttl=3600,
            headers={"Urgency": "high"},
            requests_session=http,
        )
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    if http is not None:
        http.close()
    return calls / wall, cpu / calls * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--subscriptions", type=int, default=200)
    parser.add_argument("--webpush", type=int, default=1000, help="webpush() calls per variant (0: skip)")
    args = parser.parse_args()

    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="push-bench-") as scratch:
        log = Path(scratch) / "push_service.log"
        service = spawn([PYTHON, "-m", "tests.push.push_service", "--port", str(port), "--quiet"], log)
        try:
            wait_ready(f"{origin}/_control/stats", timeout=30, process=service)
            subscriptions = [
                control(origin, "/_control/subscriptions", {"behaviour": "ok"})
                for _ in range(args.subscriptions)
            ]
            targets = [PushTarget.from_subscription(s) for s in subscriptions]
            keys = generate_keys()
            signer = VapidSigner(keys, SUBJECT)
            print(f"load average before: {load_average()}")

            service_cpu = sum(cpu_seconds(service.pid))
            rate, cpu_per_send, outcomes = asyncio.run(
                pushsender_run(origin, signer, targets, args.messages, args.concurrency)
            )
            service_cpu = sum(cpu_seconds(service.pid)) - service_cpu
            stats = control(origin, "/_control/stats")
            print(
                f"PushSender.send: {args.messages} sends, {args.concurrency} concurrent: {rate:,.0f} sends/s, "
                f"{cpu_per_send:.0f} µs CPU per send in this process; outcomes {outcomes}"
            )
            print(
                f"  push service: {stats['statuses']}, duplicates {stats['duplicates']}, "
                f"{service_cpu / (stats['requests'] or 1) * 1e6:.0f} µs CPU per request (VAPID check + decrypt)"
            )
            encrypt, cached, fresh = cpu_parts(signer, targets[0])
            print(
                f"  CPU parts: encrypt {encrypt:.0f} µs, Authorization cached {cached:.1f} µs, "
                f"signed afresh {fresh:.0f} µs; the rest of a send is JSON, aiohttp and the event loop"
            )
            ok = outcomes == {"accepted": args.messages} and stats["statuses"] == {"201": args.messages}
            ok = ok and stats["duplicates"] == 0

            if args.webpush:
                pem = Path(scratch) / "vapid.pem"
                pem.write_bytes(keys.private_pem)
                for session in (True, False):
                    control(origin, "/_control/reset", {})
                    wp_rate, wp_cpu = webpush_run(subscriptions, pem, args.webpush, session)
                    stats = control(origin, "/_control/stats")
                    label = "with a requests.Session" if session else "no session (a connection per call)"
                    print(
                        f"pywebpush webpush() loop, {label}: {args.webpush} calls: {wp_rate:,.0f} calls/s, "
                        f"{wp_cpu:.0f} µs CPU per call; service {stats['statuses']}"
                    )
                    ok = ok and stats["statuses"] == {"201": args.webpush}
            print(f"load average after: {load_average()}")
        finally:
            stop(service)
    print("OK" if ok else "FAILED: not every send was accepted exactly once")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
