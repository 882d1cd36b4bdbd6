"""Flash-sale storm: thousands of signed-in shoppers claim the same 100 units at the same instant.

    /work/main/.venv/bin/python loadtests/flash_storm.py                       # 5,000 claimers, 100 units
    /work/main/.venv/bin/python loadtests/flash_storm.py --claimers 1000 --rounds 3

What runs (all on 127.0.0.1; stopped and removed at the end: the scratch database, the Redis keys):
- a scratch PostgreSQL database at head, with per round one product (stock 2 x units) and a live flash sale of
  `--units` units of it (limit 1 per shopper), and `--claimers` customer accounts (one password hash for all,
  one bulk insert) with an API token each (bulk-inserted as `POST /api/auth/tokens` stores one);
- two `engage serve` nodes (one worker each) in production mode (PostgreSQL + Redis, same database, same Redis
  prefix), API rate limit raised by `ENGAGE_RATE_LIMIT_API`; claimers are spread evenly over both nodes;
- the baseline, under the same uvicorn, also two processes: a bare Litestar app whose claim endpoint only asks
  Engage's Redis gate (engage/flash_sales/gate.py + gate.lua, one EVALSHA) and answers 201 or 409: the HTTP
  and the gate every claim needs, none of the rest (auth, session, database transaction, cart, events);
- also printed, for scale: the gate alone, called in one process by the same number of concurrent callers.

The storm: every claimer opens its keep-alive connection first (a shopper waiting on the sale page), then all
send `POST /api/flash-sales/{id}/claims` at once. Per claim: latency from its send to its answer. Claims/s is
answers over the time from the first send to the last answer.

The proof, per round: exactly `units` 201s with distinct claim ids, every other answer a 409 `sold_out`, and in
the database units_claimed == claims_total == units, FlashClaim rows == units (distinct shoppers), the
variant's reserved stock == units == active holds of the sale, the shoppers' counts sum to units, and the gate
at 0 left. Any other outcome is printed as a failure and the exit status is 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from redis.asyncio import BlockingConnectionPool, Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engage.flash_sales.gate import RedisGate, Verdict  # noqa: E402
from loadtests.benchlib import (  # noqa: E402
    PG_ADMIN,
    PYTHON,
    REDIS,
    create_database,
    free_port,
    load_average,
    production_env,
    wait_quiet,
)

CONNECT_CONCURRENCY = 200
STORM_TIMEOUT = 180.0  # a round that has not answered every claim by then counts the rest as errors
PASSWORD = "storm-password-1"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---- the scratch shop ----------------------------------------------------------------------------------------


@dataclass
class Round:
    sale_id: int
    variant_id: int
    item_id: int


async def drop_everything(name: str, prefixes: list[str]) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    admin = create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()
    redis = Redis.from_url(REDIS)
    for prefix in prefixes:
        async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
            await redis.delete(key)
    await redis.aclose()


async def populate(
    url: str, prefix: str, claimers: int, units: int, rounds: int
) -> tuple[list[str], list[Round]]:
    """Shoppers with bearer tokens, and one product with a live sale per round."""
    from sqlalchemy import insert, select

    from commerce.catalog.drafts import ProductDraft, VariantDraft
    from commerce.catalog.editing import save
    from engage.auth.models import ApiToken, User
    from engage.auth.passwords import hash_password
    from engage.auth.tokens import token_hash
    from engage.flash_sales import schedule
    from engage.flash_sales.models import FlashSaleItem
    from engage.platform.clock import utcnow
    from engage.platform.db import make_engine, make_sessionmaker
    from engage.platform.identity import Identity, Role

    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    password_hash = await hash_password(PASSWORD)  # one hash for all: hashing is not what is measured
    run = uuid.uuid4().hex[:8]
    async with sessionmaker() as session:
        ids = (
            await session.scalars(
                insert(User).returning(User.id),
                [
                    {
                        "email": f"storm-{run}-{n}@example.test",
                        "password_hash": password_hash,
                        "name": f"S{n}",
                    }
                    for n in range(claimers)
                ],
            )
        ).all()
        await session.commit()
    issued = [secrets.token_urlsafe(32) for _ in ids]
    now = utcnow()
    async with sessionmaker() as session:  # API tokens, as `POST /api/auth/tokens` makes them (bulk)
        await session.execute(
            insert(ApiToken),
            [
                {
                    "user_id": user_id,
                    "name": "storm",
                    "token_hash": token_hash(token),
                    "created_at": now,
                    "expires_at": now + timedelta(hours=1),
                }
                for user_id, token in zip(ids, issued, strict=True)
            ],
        )
        await session.commit()

    marketer = Identity(user_id=None, role=Role.marketer, name="Storm")
    made: list[Round] = []
    for r in range(rounds):
        async with sessionmaker() as session:
            code = f"storm-{run}-{r}"
            draft = ProductDraft(
                name=f"Storm product {code}",
                status="published",
                variants=[
                    VariantDraft(sku=f"SKU-{code}", price_cents=5000, stock=2 * units, weight_grams=500)
                ],
            )
            product = (await save(session, code, draft, default_threshold=3, reference="storm")).product
            await session.commit()
            variant_id = product.variants[0].id
            starts_at = utcnow() - timedelta(seconds=1)
            plan = schedule.SalePlan(
                name=f"Storm {code}",
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=1),
                per_customer_limit=1,
                items=[schedule.ItemPlan(1999, units, variant_id=variant_id)],
            )
            sale = await schedule.create(session, marketer, plan, publish=True)
            item_id = await session.scalar(select(FlashSaleItem.id).where(FlashSaleItem.sale_id == sale.id))
            made.append(Round(sale.id, variant_id, item_id))
    await engine.dispose()
    return issued, made


async def prove(url: str, prefix: str, round_: Round, units: int) -> list[str]:
    """What the database and the gate say after a round; the list of what is wrong (empty: no oversell)."""
    from sqlalchemy import func, select

    from commerce.inventory.models import Reservation, StockLevel
    from engage.flash_sales.claims import source_of
    from engage.flash_sales.models import FlashClaim, FlashSaleBuyer, FlashSaleItem
    from engage.platform.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    wrong: list[str] = []
    async with make_sessionmaker(engine)() as session:
        item = (await session.scalars(select(FlashSaleItem).where(FlashSaleItem.id == round_.item_id))).one()
        claims, owners = (
            await session.execute(
                select(func.count(), func.count(func.distinct(FlashClaim.owner_key))).where(
                    FlashClaim.sale_id == round_.sale_id
                )
            )
        ).one()
        level = (
            await session.scalars(select(StockLevel).where(StockLevel.variant_id == round_.variant_id))
        ).one()
        holds = await session.scalar(
            select(func.count()).where(
                Reservation.source == source_of(round_.sale_id), Reservation.status == "active"
            )
        )
        buyers = await session.scalar(
            select(func.coalesce(func.sum(FlashSaleBuyer.claimed), 0)).where(
                FlashSaleBuyer.sale_id == round_.sale_id
            )
        )
    await engine.dispose()
    redis = Redis.from_url(REDIS)
    left = await redis.get(f"{prefix}:flash:{round_.sale_id}:left:{round_.item_id}")
    await redis.aclose()
    figures = {
        "units_claimed": item.units_claimed,
        "claims_total": item.claims_total,
        "FlashClaim rows": claims,
        "distinct claimers": owners,
        "stock reserved": level.reserved,
        "active holds": holds,
        "buyer counts": buyers,
    }
    print("    database: " + ", ".join(f"{k} {v}" for k, v in figures.items()) + f"; gate left {left!r}")
    wrong += [f"{k} = {v}, not {units}" for k, v in figures.items() if v != units]
    if left is None or int(left) != 0:
        wrong.append(f"gate left = {left!r}, not 0")
    return wrong


# ---- the servers -----------------------------------------------------------------------------------------------

BASELINE_APP = textwrap.dedent(
    """
    import os
    import msgspec
    from litestar import Litestar, Request, Response, post
    from redis.asyncio import Redis
    from engage.flash_sales.gate import RedisGate, Verdict

    GATE = RedisGate(Redis.from_url(os.environ["BASELINE_REDIS"]), os.environ["BASELINE_PREFIX"])
    ITEMS = {int(k): int(v) for k, v in (p.split(":") for p in os.environ["BASELINE_ITEMS"].split(","))}

    class ClaimIn(msgspec.Struct):
        variant_id: int

    @post("/api/flash-sales/{sale_id:int}/claims", status_code=201)
    async def claim(request: Request, sale_id: int, data: ClaimIn) -> Response[dict]:
        owner = request.headers.get("authorization", "")[7:]
        verdict = await GATE.take(sale_id, ITEMS[sale_id], owner, 1)
        if verdict is Verdict.taken:
            return Response({"claim_id": owner}, status_code=201)
        return Response({"code": verdict.value}, status_code=409)

    app = Litestar([claim])
    """
)


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        cmd, cwd=ROOT, env={**os.environ, **env}, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited")
        try:
            with urllib.request.urlopen(url, timeout=2) as res:
                if res.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


# ---- the storm -------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    claim_ids: list[object] = field(default_factory=list)
    first_send: float = 0.0
    last_answer: float = 0.0

    def count(self, what: str) -> None:
        self.statuses[what] = self.statuses.get(what, 0) + 1


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def storm(
    ports: list[int], path: str, body: bytes, tokens: list[str], peaks: Peaks | None = None
) -> Outcome:
    """Open one keep-alive connection per claimer (spread over `ports`), then all claim at once."""
    outcome = Outcome()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    fire = asyncio.Event()
    opened = 0

    async def claimer(n: int, token: str) -> None:
        nonlocal opened
        async with gate:
            reader, writer = await asyncio.open_connection("127.0.0.1", ports[n % len(ports)])
        opened += 1
        request = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        await fire.wait()
        started = time.perf_counter()
        try:
            writer.write(request)
            status, answer = await read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            outcome.count(f"error {type(exc).__name__}")
            return
        finally:
            writer.close()
        now = time.perf_counter()
        outcome.latencies.append(now - started)
        outcome.last_answer = max(outcome.last_answer, now)
        try:
            data = json.loads(answer)
        except ValueError:
            data = {}
        if status == 201:
            outcome.count("201")
            outcome.claim_ids.append(data.get("claim_id"))
        else:
            outcome.count(f"{status} {data.get('code', '')}".strip())

    tasks = [asyncio.create_task(claimer(n, token)) for n, token in enumerate(tokens)]
    while opened < len(tokens):
        failed = [t for t in tasks if t.done() and t.exception()]
        if failed:
            raise RuntimeError(f"a claimer could not connect: {failed[0].exception()!r}")
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    watcher = asyncio.create_task(peaks.watch()) if peaks is not None else None
    outcome.first_send = time.perf_counter()
    fire.set()
    done, pending = await asyncio.wait(tasks, timeout=STORM_TIMEOUT)
    if watcher is not None and peaks is not None:
        peaks.stop()
        await watcher
    for task in pending:
        task.cancel()
        outcome.count("no answer")
    for task in done:
        if task.exception() is not None:
            outcome.count(f"error {type(task.exception()).__name__}")
    return outcome


def summary(label: str, outcome: Outcome, claimers: int) -> dict[str, float]:
    lat = sorted(outcome.latencies)

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

    span = max(outcome.last_answer - outcome.first_send, 1e-9)
    figures = {
        "claims_per_s": len(lat) / span,
        "p50": pct(0.50),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "span": span,
    }
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(outcome.statuses.items()))
    print(
        f"  {label:<26} {figures['claims_per_s']:>8.0f} claims/s  p50 {figures['p50']:>8.1f} ms  "
        f"p95 {figures['p95']:>8.1f} ms  p99 {figures['p99']:>8.1f} ms  all answered in {span:.2f} s  [{statuses}]"
    )
    return figures


def answers(outcome: Outcome) -> dict[str, object]:
    """The answers of a storm, for --json: counts per status, and claims won."""
    return {"statuses": dict(outcome.statuses), "won": outcome.statuses.get("201", 0)}


def check_answers(outcome: Outcome, claimers: int, units: int) -> list[str]:
    """Exactly `units` claims won; everyone else turned away (409 sold_out, or 503 overloaded: no unit either)."""
    wrong = []
    if outcome.statuses.get("201", 0) != units:
        wrong.append(f"{outcome.statuses.get('201', 0)} successful claims, not {units}")
    if len(set(map(str, outcome.claim_ids))) != len(outcome.claim_ids):
        wrong.append("a claim id was answered twice")
    other = {k: v for k, v in outcome.statuses.items() if k not in ("201", "409 sold_out", "503")}
    if other:
        wrong.append(f"unexpected answers: {other}")
    return wrong


class Peaks:
    """Peak client connections of Redis and of the scratch database while a storm runs (sampled)."""

    def __init__(self, db_name: str) -> None:
        self.db_name = db_name
        self.redis = 0
        self.postgres = 0
        self._stop = asyncio.Event()

    async def watch(self) -> None:
        import asyncpg

        redis = Redis.from_url(REDIS)
        pg = await asyncpg.connect(PG_ADMIN.replace("postgresql+asyncpg", "postgresql"))
        try:
            while not self._stop.is_set():
                self.redis = max(self.redis, int((await redis.info("clients"))["connected_clients"]))
                self.postgres = max(
                    self.postgres,
                    await pg.fetchval(
                        "select count(*) from pg_stat_activity where datname = $1", self.db_name
                    ),
                )
                try:
                    await asyncio.wait_for(self._stop.wait(), 0.2)
                except TimeoutError:
                    pass
        finally:
            await redis.aclose()
            await pg.close()

    def stop(self) -> None:
        self._stop.set()


async def bare_gate(prefix: str, units: int, claimers: int) -> dict[str, float]:
    """The gate alone: `claimers` concurrent EVALSHA calls in this process (a pool of 64 connections)."""
    redis = Redis(connection_pool=BlockingConnectionPool.from_url(REDIS, max_connections=64))
    gate = RedisGate(redis, prefix)
    from datetime import UTC, datetime

    await gate.load(1, {1: units}, {}, datetime.now(UTC) + timedelta(hours=1), overwrite=True)
    await gate.take(1, 1, "warm-up", 1)  # loads the script (EVALSHA from here on)
    await gate.give_back(1, 1, "warm-up")
    latencies: list[float] = []
    verdicts: dict[str, int] = {}

    async def one(n: int) -> None:
        started = time.perf_counter()
        verdict = await gate.take(1, 1, f"owner-{n}", 1)
        latencies.append(time.perf_counter() - started)
        verdicts[verdict.value] = verdicts.get(verdict.value, 0) + 1

    began = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(claimers)))
    span = time.perf_counter() - began
    await redis.aclose()
    latencies.sort()
    print(
        f"  {'the gate alone (in-process)':<26} {claimers / span:>8.0f} claims/s  "
        f"p50 {latencies[len(latencies) // 2] * 1000:>8.1f} ms  p95 {latencies[int(0.95 * len(latencies))] * 1000:>8.1f} ms"
        f"  [{', '.join(f'{k}: {v}' for k, v in sorted(verdicts.items()))}]"
    )
    if verdicts.get(Verdict.taken.value) != units:
        raise RuntimeError(f"the bare gate gave {verdicts.get(Verdict.taken.value)} units, not {units}")
    return {"claims_per_s": claimers / span}


async def load_baseline_gate(prefix: str, rounds: list[Round], units: int) -> None:
    from datetime import UTC, datetime

    redis = Redis.from_url(REDIS)
    gate = RedisGate(redis, prefix)
    for r in rounds:
        await gate.load(
            r.sale_id, {r.item_id: units}, {}, datetime.now(UTC) + timedelta(hours=1), overwrite=True
        )
    await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--claimers", type=int, default=5000)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1, help="storms per server (a fresh sale each)")
    parser.add_argument(
        "--nodes", type=int, default=2, help="engage serve processes (and baseline processes)"
    )
    parser.add_argument(
        "--redis-max-connections",
        type=int,
        default=0,
        help="bound each node's Redis pool (redis-py raises past it: 503s); 0: Engage's default, unbounded",
    )
    parser.add_argument("--db-pool-size", type=int, default=20, help="ENGAGE_DB_POOL_SIZE per node")
    parser.add_argument("--json", type=Path, help="also write the figures here (loadtests/run_all.py)")
    args = parser.parse_args()
    if args.claimers <= args.units:
        raise SystemExit("--claimers must exceed --units (the storm is about turning shoppers away)")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    run_id = uuid.uuid4().hex[:8]
    db_name, prefix, base_prefix = (
        f"engage_storm_{run_id}",
        f"engage-storm-{run_id}",
        f"engage-storm-base-{run_id}",
    )
    workdir = Path(tempfile.mkdtemp(prefix="engage-storm-"))
    processes: list[subprocess.Popen[bytes]] = []
    failures: list[str] = []
    try:
        url = asyncio.run(create_database(db_name))
        began = time.monotonic()
        tokens, rounds = asyncio.run(populate(url, prefix, args.claimers, args.units, args.rounds))
        print(
            f"{args.claimers} shoppers with bearer tokens and {args.rounds} sale(s) of {args.units} units "
            f"made in {time.monotonic() - began:.1f} s"
        )
        env = production_env(
            url,
            prefix,
            ENGAGE_RATE_LIMIT_API="100000000/minute",
            ENGAGE_DB_POOL_SIZE=str(args.db_pool_size),
            TRANSFORMERS_OFFLINE="1",
        )
        if args.redis_max_connections:
            env["ENGAGE_REDIS_URL"] = f"{REDIS}?max_connections={args.redis_max_connections}"

        def start_engage() -> tuple[list[int], list[subprocess.Popen[bytes]]]:
            ports = [free_port() for _ in range(args.nodes)]
            nodes = [
                start(
                    [PYTHON, "-m", "engage.cli", "serve", "--port", str(port)],
                    env,
                    workdir / f"engage-{port}.log",
                )
                for port in ports
            ]
            processes.extend(nodes)
            for port, process in zip(ports, nodes, strict=True):
                wait_ready(f"http://127.0.0.1:{port}/ready", process)
            return ports, nodes

        engage_ports, engage_nodes = start_engage()
        (workdir / "baseline.py").write_text(BASELINE_APP)
        asyncio.run(load_baseline_gate(base_prefix, rounds, args.units))
        base_env = {
            "BASELINE_REDIS": REDIS,
            "BASELINE_PREFIX": base_prefix,
            "BASELINE_ITEMS": ",".join(f"{r.sale_id}:{r.item_id}" for r in rounds),
            "PYTHONPATH": str(ROOT),
        }
        base_ports = [free_port() for _ in range(args.nodes)]
        base_nodes = [
            start(
                [
                    PYTHON,
                    "-m",
                    "uvicorn",
                    "baseline:app",
                    "--app-dir",
                    str(workdir),
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                base_env,
                workdir / f"baseline-{port}.log",
            )
            for port in base_ports
        ]
        processes += base_nodes
        for port, process in zip(base_ports, base_nodes, strict=True):
            wait_ready(f"http://127.0.0.1:{port}/", process)
        wait_quiet([p.pid for p in processes])

        print(
            f"\n{args.claimers} claimers at once for {args.units} units, {args.nodes} node(s) each, "
            f"connections opened first; load average {load_average()}"
        )
        results: dict[str, list[dict[str, float]]] = {"baseline": [], "engage": []}
        for n, r in enumerate(rounds, 1):
            if n > 1:  # fresh nodes: a node keeps every Redis connection the last storm made it open
                for process in engage_nodes:
                    stop(process)
                engage_ports, engage_nodes = start_engage()
                wait_quiet([p.pid for p in engage_nodes])
            print(f"round {n}: sale #{r.sale_id}")
            path = f"/api/flash-sales/{r.sale_id}/claims"
            body = json.dumps({"variant_id": r.variant_id}).encode()
            gate_alone = asyncio.run(bare_gate(f"{base_prefix}-alone-{n}", args.units, args.claimers))
            base_cpu = sum(cpu_seconds(p.pid) for p in base_nodes)
            base = asyncio.run(storm(base_ports, path, body, tokens))
            base_cpu = sum(cpu_seconds(p.pid) for p in base_nodes) - base_cpu
            results["baseline"].append(summary("baseline (HTTP + gate)", base, args.claimers))
            results["baseline"][-1] |= {"cpu_ms_per_claim": 1000 * base_cpu / args.claimers, **answers(base)}
            print(
                f"    baseline processes' CPU: {base_cpu:.1f} s in all, {1000 * base_cpu / args.claimers:.2f} ms per claim"
            )
            failures += [f"baseline round {n}: {w}" for w in check_answers(base, args.claimers, args.units)]
            time.sleep(2)
            cpu_before = sum(cpu_seconds(p.pid) for p in engage_nodes)
            peaks = Peaks(db_name)
            ours = asyncio.run(storm(engage_ports, path, body, tokens, peaks))
            cpu = sum(cpu_seconds(p.pid) for p in engage_nodes) - cpu_before
            results["engage"].append(summary("engage", ours, args.claimers))
            results["engage"][-1] |= {"cpu_ms_per_claim": 1000 * cpu / args.claimers, **answers(ours)}
            print(
                f"    engage nodes' CPU: {cpu:.1f} s in all, {1000 * cpu / args.claimers:.2f} ms per claim; "
                f"peak connections: Redis {peaks.redis} (whole server), PostgreSQL {peaks.postgres} (this database)"
            )
            failures += [f"engage round {n}: {w}" for w in check_answers(ours, args.claimers, args.units)]
            failures += [f"engage round {n}: {w}" for w in asyncio.run(prove(url, prefix, r, args.units))]
            e, b = results["engage"][-1], results["baseline"][-1]
            print(
                f"  {'ratio engage / baseline':<26} {e['claims_per_s'] / b['claims_per_s']:>8.2f} claims/s  "
                f"p50 x{e['p50'] / b['p50']:.1f}  p95 x{e['p95'] / b['p95']:.1f}  p99 x{e['p99'] / b['p99']:.1f}"
                f"   gate alone {gate_alone['claims_per_s']:.0f} claims/s; load average {load_average()}"
            )
            time.sleep(2)
    finally:
        for process in processes:
            stop(process)
        asyncio.run(drop_everything(db_name, [prefix, base_prefix]))
    if args.json:
        figures = {"claimers": args.claimers, "units": args.units, "nodes": args.nodes, "failures": failures}
        args.json.write_text(json.dumps(figures | results, indent=2))
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        print(f"server logs kept in {workdir}")
        raise SystemExit(1)
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nzero oversell: every round sold exactly {args.units} units, no more, no fewer")


if __name__ == "__main__":
    main()
