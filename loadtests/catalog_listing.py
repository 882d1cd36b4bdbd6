"""Product listing under load on PostgreSQL, beside a bare Litestar endpoint serving the same JSON from memory.

    /work/main/.venv/bin/python loadtests/catalog_listing.py                 # 100 and 500 clients, 20 s each
    /work/main/.venv/bin/python loadtests/catalog_listing.py --clients 100 --seconds 10
    /work/main/.venv/bin/python loadtests/catalog_listing.py --revalidate    # clients that keep what they got

What runs (all on 127.0.0.1, stopped at the end; the scratch database and Redis keys are removed):
- `engage serve` (one worker, or `--workers N`) in production mode: PostgreSQL with the demo catalog, Redis; rate limit raised
  (`ENGAGE_RATE_LIMIT_API=10000000/minute`), the whole middleware stack on (sessions, auth, CSRF, metrics).
- the baseline: a bare Litestar app under the same uvicorn, no middleware, answering the same URLs with the
  bytes Engage returned for them, kept in memory.
- the clients: keep-alive HTTP/1.1 connections in one asyncio process (a small hand-written client, so the
  load generator spends as little of the machine's CPU as possible); each keeps its cookies like a browser,
  and walks 24 listing URLs (categories, sorts, filters, second pages through cursors). With `--revalidate`
  each also keeps the bodies it got and asks again with `If-None-Match`, as a browser's cache does (the
  baseline then answers 304 from memory too).

Printed: requests/s, p50/p95/p99 latency, errors, for both servers, and Engage / baseline ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadtests.benchlib import (  # noqa: E402
    PG_ADMIN,
    PYTHON,
    drop_database,
    free_port,
    production_env,
    stop,
    wait_ready,
)
from loadtests.benchlib import spawn as start  # noqa: E402

WARMUP_SECONDS = 3


# ---- the load ------------------------------------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection that remembers its cookies."""

    def __init__(self, port: int, *, revalidate: bool = False) -> None:
        self.port = port
        self.revalidate = revalidate
        self.etags: dict[str, str] = {}
        self.cookies: dict[str, str] = {}
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
        if cookie:
            request += f"Cookie: {cookie}\r\n"
        if self.revalidate and path in self.etags:
            request += f"If-None-Match: {self.etags[path]}\r\n"
        self.writer.write((request + "\r\n").encode())
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.lower()
            if name == "content-length":
                length = int(value)
            elif name == "set-cookie":
                key, _, rest = value.strip().partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
            elif name == "connection" and value.strip().lower() == "close":
                close = True
            elif name == "etag":
                self.etags[path] = value.strip()
        body = await self.reader.readexactly(length)
        if close:
            self.writer.close()
            self.writer = None
        return status, body


async def run_load(
    port: int, paths: list[str], clients: int, seconds: float, *, revalidate: bool = False
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    stop_at = 0.0
    measuring = False

    async def client(n: int) -> None:
        nonlocal errors
        conn = Connection(port, revalidate=revalidate)
        rng = random.Random(n)
        order = paths[:]
        rng.shuffle(order)
        i = 0
        while time.perf_counter() < stop_at:
            path = order[i % len(order)]
            i += 1
            started = time.perf_counter()
            try:
                status, _ = await conn.get(path)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                status = 0
                conn = Connection(port, revalidate=revalidate)
            took = time.perf_counter() - started
            if measuring:
                if status in (200, 304):
                    latencies.append(took)
                else:
                    errors += 1

    stop_at = time.perf_counter() + WARMUP_SECONDS + seconds
    tasks = [asyncio.create_task(client(n)) for n in range(clients)]
    await asyncio.sleep(WARMUP_SECONDS)
    measuring = True
    began = time.perf_counter()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(p: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")
        )

    return {
        "rps": len(latencies) / elapsed,
        "p50": pct(0.50),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "errors": errors,
        "requests": len(latencies),
    }


# ---- the servers -------------------------------------------------------------------------------------------


def prepare_database(name: str) -> str:
    """A scratch database at head with the demo catalog and its stock."""
    code = textwrap.dedent(
        f"""
        import asyncio
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine
        from commerce.catalog import import_catalog
        from engage.platform.db import make_engine, make_sessionmaker
        from engage.platform.migrations import upgrade

        async def main():
            admin = create_async_engine({PG_ADMIN!r}, isolation_level="AUTOCOMMIT")
            async with admin.connect() as conn:
                await conn.execute(text('CREATE DATABASE "{name}"'))
            await admin.dispose()
            url = {PG_ADMIN.rsplit("/", 1)[0]!r} + "/{name}"
            await upgrade(url)
            engine = make_engine(url)
            async with make_sessionmaker(engine)() as session:
                data = open({str(ROOT / "engage" / "demo_data" / "products.json")!r}, "rb").read()
                report = await import_catalog(session, data, fmt="json", default_threshold=5)
                print(report.lines()[0])
            await engine.dispose()

        asyncio.run(main())
        """
    )
    subprocess.run([PYTHON, "-c", code], cwd=ROOT, check=True)
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


BASELINE_APP = textwrap.dedent(
    """
    import hashlib, json, os
    from litestar import Litestar, Request, Response, get

    BODIES = {path: body.encode() for path, body in json.load(open(os.environ["BASELINE_BODIES"])).items()}
    ETAGS = {path: '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"' for path, body in BODIES.items()}

    @get("/api/products", sync_to_thread=False)
    def products(request: Request) -> Response[bytes]:
        path = str(request.url.path) + ("?" + request.url.query if request.url.query else "")
        if request.headers.get("if-none-match") == ETAGS[path]:
            return Response(b"", status_code=304, headers={"ETag": ETAGS[path]})
        return Response(BODIES[path], media_type="application/json", headers={"ETag": ETAGS[path]})

    app = Litestar([products])
    """
)


def listing_paths(port: int) -> list[str]:
    """24 listing URLs a shopper's browser would ask for, second pages through real cursors."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/categories") as res:
        roots = json.load(res)
    paths = [
        "/api/products",
        "/api/products?sort=price_asc",
        "/api/products?sort=popularity",
        "/api/products?in_stock=true",
        "/api/products?min_price=2000&max_price=10000",
    ]
    for root in roots:
        paths.append(f"/api/products?category={root['slug']}")
        if root["children"]:
            paths.append(f"/api/products?category={root['children'][0]['slug']}&sort=price_desc")
    seconds = []
    for path in paths[:5]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as res:
            cursor = json.load(res)["next_cursor"]
        if cursor:
            seconds.append(path + ("&" if "?" in path else "?") + f"cursor={cursor}")
    return (paths + seconds)[:24]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument(
        "--rate-limit", default="10000000/minute", help="ENGAGE_RATE_LIMIT_API for Engage (0/minute: off)"
    )
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of each server (both alike)")
    parser.add_argument(
        "--revalidate", action="store_true", help="clients keep bodies and ask with If-None-Match (304s)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here (loadtests/run_all.py)")
    args = parser.parse_args()

    run_id = uuid.uuid4().hex[:8]
    db_name, prefix = f"engage_bench_{run_id}", f"engage-bench-{run_id}"
    workdir = Path(tempfile.mkdtemp(prefix="engage-bench-"))
    url = prepare_database(db_name)
    engage_port, base_port = free_port(), free_port()
    env = production_env(url, prefix, ENGAGE_RATE_LIMIT_API=args.rate_limit)
    engage = start(
        [PYTHON, "-m", "engage.cli", "serve", "--port", str(engage_port), "--workers", str(args.workers)],
        workdir / "engage.log",
        env,
    )
    baseline = None
    try:
        wait_ready(f"http://127.0.0.1:{engage_port}/ready")
        paths = listing_paths(engage_port)
        bodies = {}
        for path in paths:
            with urllib.request.urlopen(f"http://127.0.0.1:{engage_port}{path}") as res:
                bodies[path] = res.read().decode()
        (workdir / "bodies.json").write_text(json.dumps(bodies))
        (workdir / "baseline.py").write_text(BASELINE_APP)
        baseline = start(
            [
                PYTHON,
                "-m",
                "uvicorn",
                "baseline:app",
                "--app-dir",
                str(workdir),
                "--port",
                str(base_port),
                "--log-level",
                "warning",
                "--no-access-log",
                "--workers",
                str(args.workers),
            ],
            workdir / "baseline.log",
            {"BASELINE_BODIES": str(workdir / "bodies.json")},
        )
        wait_ready(f"http://127.0.0.1:{base_port}{paths[0]}")

        print(
            f"{len(paths)} listing URLs, {args.seconds:.0f} s per run after {WARMUP_SECONDS} s warm-up, "
            f"{args.workers} worker(s) each"
        )
        print(
            f"{'clients':>7}  {'server':<9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}"
        )
        rows = []
        for clients in args.clients:
            results = {}
            for label, port in (("baseline", base_port), ("engage", engage_port)):
                r = asyncio.run(run_load(port, paths, clients, args.seconds, revalidate=args.revalidate))
                results[label] = r
                print(
                    f"{clients:>7}  {label:<9} {r['rps']:>8.0f} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['p99']:>8.1f} {r['errors']:>7.0f}"
                )
            rows.append({"clients": clients, **results})
            e, b = results["engage"], results["baseline"]
            print(
                f"{clients:>7}  {'ratio':<9} {e['rps'] / b['rps']:>8.2f} {e['p50'] / b['p50']:>8.2f} {e['p95'] / b['p95']:>8.2f} {e['p99'] / b['p99']:>8.2f}"
            )
        if args.json:
            args.json.write_text(json.dumps({"workers": args.workers, "rows": rows}, indent=2))
    finally:
        if baseline is not None:
            stop(baseline)
        stop(engage)
        asyncio.run(drop_database(db_name, prefix))


if __name__ == "__main__":
    main()
