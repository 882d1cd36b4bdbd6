"""The back office's endpoints with a million orders in PostgreSQL, beside a trivial endpoint of the same
server (`/api/auth/me`: the same middleware, sessions and auth, no figures) measured in the same run.

    /work/main/.venv/bin/python loadtests/backoffice_figures.py                    # 1,000,000 orders
    /work/main/.venv/bin/python loadtests/backoffice_figures.py --orders 200000 --requests 40

What runs (all on 127.0.0.1; the scratch database and Redis keys are removed at the end):
- a scratch database at head, filled in SQL: 100,000 customers, 200 variants, `--orders` paid orders spread
  over the last 365 days (one or two units on one line, 4 % refunded in part);
- the kept days (sales, products), buyers and funnel days built from the orders (as a worker's first start
  does on an existing shop), timed;
- `engage serve` in production mode (PostgreSQL, Redis), one worker; an admin signs in with a token;
- per endpoint, `--requests` requests, four at a time (a handful of staff with the dashboard open).

Printed: p50 and p95 per endpoint in ms, and p95 / the baseline's p95.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

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
    stop,
    wait_ready,
)
from loadtests.benchlib import spawn as start  # noqa: E402

PASSWORD = "bench-password-1"

FILL = [
    "INSERT INTO categories (slug, name, parent_id, position) VALUES ('bench', 'Bench', NULL, 0)",
    """INSERT INTO products (handle, name, brand, description, category_id, status, tags, attributes, images,
                            popularity, min_price_cents, created_at, updated_at)
       SELECT 'bench-' || p, 'Bench product ' || p, 'Bench', '', (SELECT id FROM categories WHERE slug = 'bench'),
              'published', '[]', '{}', '[]', 0, 1000 + p * 10, now(), now()
       FROM generate_series(1, 50) p""",
    """INSERT INTO variants (product_id, sku, options, price_cents, compare_at_cents, weight_grams, position,
                            created_at, updated_at)
       SELECT pr.id, 'BENCH-' || pr.id || '-' || v, json_build_object('size', v), pr.min_price_cents, NULL, 500,
              v, now(), now()
       FROM products pr, generate_series(1, 4) v WHERE pr.handle LIKE 'bench-%'""",
    """INSERT INTO stock_levels (variant_id, on_hand, reserved, low_stock_threshold, updated_at)
       SELECT id, (id * 7) % 40, 0, 5, now() FROM variants""",
    """INSERT INTO users (email, password_hash, role, name, is_active, created_at, updated_at)
       SELECT 'buyer' || u || '@bench.test', 'x', 'customer', 'Buyer ' || u, true,
              now() - interval '400 days', now()
       FROM generate_series(1, 100000) u""",
    """INSERT INTO orders (number, checkout_id, owner_key, user_id, email, status, currency, subtotal_cents,
                          discount_cents, shipping_cents, tax_cents, total_cents, refunded_cents,
                          shipping_address, shipping_method, carrier, tracking_number, paid_at, created_at,
                          updated_at)
       SELECT 'B' || lpad(o::text, 9, '0'), 'bench' || o, 'user:' || u.id, u.id, u.email,
              CASE WHEN o % 25 = 0 THEN 'partially_refunded' WHEN o % 3 = 0 THEN 'delivered' ELSE 'paid' END,
              'usd', 5000, 0, 500, 400, 5900, CASE WHEN o % 25 = 0 THEN 1000 ELSE 0 END, '{}', 'standard',
              '', '', at, at, at
       FROM (SELECT o, now() - (o::float / :orders) * interval '365 days' AS at,
                    (SELECT min(id) FROM users) + (o::bigint * 7919) % 100000 AS buyer
             FROM generate_series(1, :orders) o) g
       JOIN users u ON u.id = g.buyer""",
    """INSERT INTO order_lines (order_id, variant_id, product_handle, sku, name, options, quantity,
                               unit_price_cents, line_total_cents, discount_label, returned_quantity)
       SELECT o.id, v.id, p.handle, v.sku, p.name, '{}', 1 + o.id % 2, 2500, 2500 * (1 + o.id % 2), '', 0
       FROM orders o
       JOIN variants v ON v.id = (SELECT min(id) FROM variants) + (o.id * 31) % 200
       JOIN products p ON p.id = v.product_id""",
    "VACUUM ANALYZE",  # as autovacuum leaves a settled table: index-only scans need the visibility map
]


async def fill(url: str, orders: int) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from engage.analytics import funnel, rollup
    from engage.auth import create_user
    from engage.platform.db import make_sessionmaker
    from engage.platform.identity import Role

    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")  # VACUUM runs outside a transaction
    async with engine.connect() as conn:
        for statement in FILL:
            started = time.monotonic()
            await conn.execute(
                text(statement).bindparams(orders=orders) if ":orders" in statement else text(statement)
            )
            await conn.commit()
            print(f"  {' '.join(statement.split()[:3])}: {time.monotonic() - started:.1f} s", flush=True)
    await engine.dispose()
    engine = create_async_engine(url)  # the worker's own: transactions as usual
    async with make_sessionmaker(engine)() as session:
        await create_user(session, email="admin@bench.test", password=PASSWORD, role=Role.admin)
        started = time.monotonic()
        days = await rollup.rebuild(
            session, zone=ZoneInfo("UTC")
        )  # what a worker's first start does on an existing shop
        print(
            f"  kept days and buyers built: {days:,} days in {time.monotonic() - started:.1f} s",
            flush=True,
        )
        started = time.monotonic()
        kept = await funnel.keep(session, zone=ZoneInfo("UTC"))
        print(f"  funnel days kept: {kept:,} days in {time.monotonic() - started:.1f} s", flush=True)
    await engine.dispose()


async def measure(base: str, token: str, path: str, requests: int) -> list[float]:
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
        res = await http.get(path)
        assert res.status_code == 200, (path, res.status_code, res.text[:300])

        async def one() -> None:
            started = time.perf_counter()
            res = await http.get(path)
            latencies.append((time.perf_counter() - started) * 1000)
            assert res.status_code == 200, (path, res.status_code)

        for start_at in range(0, requests, 4):
            await asyncio.gather(*(one() for _ in range(min(4, requests - start_at))))
    return latencies


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)


async def run(args: argparse.Namespace) -> None:
    run_id = uuid.uuid4().hex[:8]
    name, prefix = f"engage_bench_{run_id}", f"engage-bench-{run_id}"
    workdir = Path(tempfile.mkdtemp(prefix="engage-bench-"))
    url = await create_database(name)
    server = None
    try:
        print(f"filling {args.orders:,} orders ...", flush=True)
        await fill(url, args.orders)
        port = free_port()
        env = production_env(url, prefix, ENGAGE_RATE_LIMIT_API="10000000/minute", ENGAGE_TWO_FACTOR_ROLES="")
        server = start(
            [PYTHON, "-m", "engage.cli", "serve", "--port", str(port)], workdir / "engage.log", env
        )
        base = f"http://127.0.0.1:{port}"
        wait_ready(f"{base}/ready", process=server)
        async with httpx.AsyncClient(base_url=base) as http:
            res = await http.post(
                "/api/auth/tokens", json={"email": "admin@bench.test", "password": PASSWORD, "name": "bench"}
            )
            token = res.json()["token"]
        today = datetime.now(UTC).date()
        month, year = today - timedelta(days=29), today - timedelta(days=364)
        paths = [
            ("baseline: /api/auth/me", "/api/auth/me"),
            ("sales, 30 days", f"/api/admin/analytics/summary?from={month}&to={today}"),
            ("sales, 365 days", f"/api/admin/analytics/summary?from={year}&to={today}"),
            ("sales CSV, 30 days", f"/api/admin/analytics/sales.csv?from={month}&to={today}"),
            ("buyers, 30 days", f"/api/admin/analytics/customers?from={month}&to={today}"),
            ("buyers, 365 days", f"/api/admin/analytics/customers?from={year}&to={today}"),
            ("funnel, 30 days", f"/api/admin/analytics/funnel?from={month}&to={today}"),
            ("funnel, 365 days", f"/api/admin/analytics/funnel?from={year}&to={today}"),
            ("flash sales, 30 days", f"/api/admin/analytics/flash-sales?from={month}&to={today}"),
            ("search, 30 days", f"/api/search/analytics/summary?from={month}&to={today}"),
            ("today's tiles", "/api/admin/analytics/today"),
            ("support, 30 days", f"/api/admin/analytics/support?from={month}&to={today}"),
            ("orders, first page", "/api/staff/orders"),
            ("orders, by email", "/api/staff/orders?q=buyer77@bench.test"),
            ("orders, to pack", "/api/staff/orders?fulfilment=unfulfilled"),
            ("customers, first page", "/api/admin/customers"),
            ("a customer", "/api/admin/customers/77"),
            ("stock room, low", "/api/admin/stock?showing=low"),
        ]
        print(f"\nload average {load_average()}; {args.requests} requests per endpoint, 4 at a time\n")
        print(f"{'endpoint':28} {'p50 ms':>8} {'p95 ms':>8} {'p95 / baseline':>15}")
        baseline = None
        figures = []
        for label, path in paths:
            values = await measure(base, token, path, args.requests)
            high = p95(values)
            baseline = baseline or high
            figures.append({"endpoint": label, "p50_ms": statistics.median(values), "p95_ms": high})
            print(
                f"{label:28} {statistics.median(values):8.1f} {high:8.1f} {high / baseline:15.1f}", flush=True
            )
        if args.json:
            summary = {"orders": args.orders, "requests": args.requests, "endpoints": figures}
            args.json.write_text(json.dumps(summary, indent=2))
    finally:
        if server is not None:
            stop(server)
        await drop_database(name, prefix)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--json", type=Path, help="also write the figures here (loadtests/run_all.py)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
