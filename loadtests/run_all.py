"""Every benchmark of loadtests/, each beside its baseline, in one run, and one table in loadtests/README.md.

    .venv/bin/python loadtests/run_all.py                      # quick sizes: about 10 min on 2 cores
    .venv/bin/python loadtests/run_all.py --full               # the issue's sizes: hours (search alone ~30 min)
    .venv/bin/python loadtests/run_all.py --only chat,flash    # some of them (the table then holds only those)
    .venv/bin/python loadtests/run_all.py --list               # the benchmarks and their commands, no run
    make bench                                                 # the first line (BENCH_ARGS="--full" etc.)

Each benchmark is its own script with its own command line (kept: run one alone for its whole printout). Here
each runs as a subprocess of this interpreter with `--json FILE`, and one small adapter per benchmark turns
that file into the table's row(s): Engage's figure, the baseline's from the same run, their ratio, latency
percentiles, CPU per operation, and what the benchmark checks of correctness (lost, duplicated, oversold).
A benchmark that fails or outlives its timeout is a "failed" row with the reason; the others still run.

The table goes between the markers `<!-- run_all:begin -->` and `<!-- run_all:end -->` of the README, with
the date (UTC), the load average before and after, this command line and the git commit. Benchmarks are not
tests: nothing here judges a figure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "loadtests" / "README.md"
BEGIN, END = "<!-- run_all:begin -->", "<!-- run_all:end -->"
GRACE_SECONDS = 60  # after a timeout: SIGINT (the script drops its database and stops its servers), then kill


# ---- what a run is made of -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One invocation of a benchmark script."""

    label: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class Row:
    """One line of the table (Engage and its baseline at one size)."""

    case: str
    engage: str
    baseline: str = "n/a"
    ratio: str = "n/a"
    latency: str = "n/a"
    cpu: str = "n/a"
    integrity: str = "n/a"


Adapter = Callable[[Any], list[Row]]


@dataclass(frozen=True)
class Benchmark:
    name: str
    script: str
    measures: str
    adapter: Adapter
    quick: tuple[Case, ...]
    full: tuple[Case, ...]
    quick_timeout: float = 600
    full_timeout: float = 3600


@dataclass(frozen=True)
class Result:
    benchmark: Benchmark
    case: Case
    command: list[str]
    rows: list[Row]
    seconds: float
    load: str


# ---- formatting ------------------------------------------------------------------------------------------


def num(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{digits}f}"


def percentiles(figures: Mapping[str, Any], keys: Sequence[str], digits: int = 1) -> str:
    """'p50 / p95 / p99' from whichever of `keys` the figures have (— for a percentile not measured)."""
    return " / ".join(num(figures[k], digits) if k in figures else "—" for k in keys)


def beside(engage: str, baseline: str, name: str = "baseline") -> str:
    return f"{engage} ({name} {baseline})"


def ratio(engage: float, baseline: float, what: str) -> str:
    return f"{engage / baseline:.2f}x {what}" if baseline else "—"


def ratios(throughput: tuple[float, float, str] | None, latency: tuple[float, float, str] | None) -> str:
    """Engage / baseline: throughput (`0.12x req/s`), then a latency percentile (`p95 x8.7`), as far as known."""
    parts = [ratio(*throughput)] if throughput else []
    if latency and latency[1]:
        parts.append(f"{latency[2]} x{latency[0] / latency[1]:,.1f}")
    return ", ".join(parts) or "n/a"


def first_of(problems: Sequence[str], shown: int = 2) -> str:
    """The first problems a benchmark reported, and how many more (the log has them all)."""
    more = f"; {len(problems) - shown} more in the log" if len(problems) > shown else ""
    return "; ".join(problems[:shown]) + more


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# ---- one adapter per benchmark: its --json file -> rows ----------------------------------------------------

P3 = ("p50_ms", "p95_ms", "p99_ms")  # the keys of the percentiles in most benchmarks' figures
P3_SHORT = ("p50", "p95", "p99")  # and in the others'


def chat_rows(data: list[dict[str, Any]]) -> list[Row]:
    rows = []
    for n in dict.fromkeys(r["conversations"] for r in data):
        runs = {r["server"].split(" ")[0]: r for r in data if r["conversations"] == n}
        e, b = runs.get("engage"), runs.get("bare")
        if e is None or b is None:
            rows.append(Row(f"{n} conversations", "**failed**: a server was not measured"))
            continue
        stored = "" if e["db_acked_not_stored"] is None else f", {e['db_acked_not_stored']} acked not stored"
        rows.append(
            Row(
                case=f"{n} conversations x 2 msg/s, {e['seconds']} s",
                engage=f"{num(e['msgs_per_s'], 0)} msg/s delivered ({e['delivered']:,} of {e['sent']:,} sent)",
                baseline=f"{num(b['msgs_per_s'], 0)} msg/s (bare relay)",
                ratio=ratios((e["msgs_per_s"], b["msgs_per_s"], "msg/s"), (e["p95_ms"], b["p95_ms"], "p95")),
                latency=beside(percentiles(e, P3), percentiles(b, P3), "relay"),
                cpu=beside(
                    f"{num(e['server_cpu_us_per_msg'] / 1000, 2)} ms/msg",
                    num(b["server_cpu_us_per_msg"] / 1000, 2),
                    "relay",
                ),
                integrity=f"lost {e['lost']}, duplicated {e['duplicates']}, out of order {e['out_of_order']}{stored}",
            )
        )
    return rows


def listing_rows(data: dict[str, Any]) -> list[Row]:
    return [
        Row(
            case=f"{r['clients']} clients, {data['workers']} worker(s)",
            engage=f"{num(r['engage']['rps'], 0)} req/s",
            baseline=f"{num(r['baseline']['rps'], 0)} req/s (bare Litestar)",
            ratio=ratios(
                (r["engage"]["rps"], r["baseline"]["rps"], "req/s"),
                (r["engage"]["p95"], r["baseline"]["p95"], "p95"),
            ),
            latency=beside(percentiles(r["engage"], P3_SHORT), percentiles(r["baseline"], P3_SHORT)),
            integrity=f"errors {r['engage']['errors']:.0f} (baseline {r['baseline']['errors']:.0f})",
        )
        for r in data["rows"]
    ]


def flash_rows(data: dict[str, Any]) -> list[Row]:
    rows = []
    for n, (e, b) in enumerate(zip(data["engage"], data["baseline"], strict=True), 1):
        oversold = max(0, e["won"] - data["units"])
        others = ", ".join(
            f"{k}: {v}" for k, v in sorted(e["statuses"].items()) if k not in ("201", "409 sold_out")
        )
        checked = "database and gate checked" if not data["failures"] else first_of(data["failures"])
        rows.append(
            Row(
                case=f"{data['claimers']:,} claimers, {data['units']} units, {data['nodes']} nodes"
                + (f", round {n}" if len(data["engage"]) > 1 else ""),
                engage=f"{num(e['claims_per_s'], 0)} claims/s",
                baseline=f"{num(b['claims_per_s'], 0)} claims/s (HTTP + gate)",
                ratio=ratios((e["claims_per_s"], b["claims_per_s"], "claims/s"), (e["p95"], b["p95"], "p95")),
                latency=beside(percentiles(e, P3_SHORT, 0), percentiles(b, P3_SHORT, 0)),
                cpu=beside(f"{num(e['cpu_ms_per_claim'], 2)} ms/claim", num(b["cpu_ms_per_claim"], 2)),
                integrity=f"oversold {oversold} ({e['won']} won{', ' + others if others else ''}; {checked})",
            )
        )
    return rows


def delivery_row(
    case: str,
    e: Mapping[str, Any],
    b: Mapping[str, Any],
    *,
    engage: str,
    cpu_us: tuple[float, float],
    integrity: str,
) -> Row:
    """A WebSocket delivery benchmark's row: Engage `e` beside the bare websockets server `b`."""
    return Row(
        case=case,
        engage=engage,
        baseline=f"{num(b['deliveries_per_s'], 0)} deliveries/s (bare websockets)",
        ratio=ratios(
            (e["deliveries_per_s"], b["deliveries_per_s"], "deliveries/s"),
            (e["p99_ms"], b["p99_ms"], "p99"),
        ),
        latency=beside(percentiles(e, P3), percentiles(b, P3), "bare"),
        cpu=beside(f"{num(cpu_us[0])} µs/delivery", num(cpu_us[1]), "bare"),
        integrity=integrity,
    )


def fanout_rows(data: list[dict[str, Any]]) -> list[Row]:
    rows = []
    for n in dict.fromkeys(r["subscribers"] for r in data):
        engage = [r for r in data if r["subscribers"] == n and r["server"] == "engage"]
        bare = [r for r in data if r["subscribers"] == n and r["server"] == "bare websockets"]
        for e, b in zip(engage, bare, strict=False):
            rows.append(
                delivery_row(
                    f"{n:,} subscribers, {num(e['broadcasts_per_s'], 0)} broadcasts/s",
                    e,
                    b,
                    engage=f"{num(e['deliveries_per_s'], 0)} deliveries/s",
                    cpu_us=(
                        e["server_user_us_per_delivery"] + e["server_system_us_per_delivery"],
                        b["server_user_us_per_delivery"] + b["server_system_us_per_delivery"],
                    ),
                    integrity=f"lost {e['expected'] - e['delivered']} of {e['expected']:,}, lagged {e['lagged']}",
                )
            )
    if not rows:
        rows.append(Row("", "**failed**: no engage / bare pair measured"))
    return rows


def leaderboard_rows(data: dict[str, Any]) -> list[Row]:
    e, b = data["engage"], data["bare"]
    nodes = e.get("nodes", 1)
    return [
        delivery_row(
            f"{e['watchers']:,} watchers{f' on {nodes} nodes' if nodes > 1 else ''}, "
            f"{num(e['events_per_s'], 0)} changes/s achieved",
            e,
            b,
            engage=f"{num(e['deliveries_per_s'], 0)} deliveries/s ({num(data['frames_per_s'], 1)} frames/watcher/s)",
            cpu_us=(
                1e6 * e["server_cpu_s"] / max(e["deliveries"], 1),
                1e6 * b["server_cpu_s"] / max(b["deliveries"], 1),
            ),
            integrity=f"lagged {e['lagged']} (frames coalesce: none is owed)",
        )
    ]


def push_rows(data: dict[str, Any]) -> list[Row]:
    base = data["webpush"]
    rows = []
    for r in data["sizes"]:
        sent = r["messages"].get("sent", 0)
        rows.append(
            Row(
                case=f"campaign to {r['size']:,} subscriptions, one worker",
                engage=f"{num(r['rate'], 0)} pushes/s",
                baseline=f"{num(base['rate'], 0)} pushes/s (pywebpush loop)",
                ratio=ratios((r["rate"], base["rate"], "pushes/s"), None),
                cpu=beside(f"{num(r['cpu_us'], 0)} µs/push", num(base["cpu_us"], 0), "pywebpush"),
                integrity=f"lost {r['size'] - sent}, duplicated {r['service']['duplicates']}",
            )
        )
    return rows


def search_rows(data: dict[str, Any]) -> list[Row]:
    rows = []
    for db in ("sqlite", "postgres"):
        if db not in data:
            continue
        warm, base, cold = data[db]["warm"], data[db]["baseline"], data[db]["cold"]
        rows.append(
            Row(
                case=f"{data['products']:,} products, {'SQLite' if db == 'sqlite' else 'PostgreSQL'}, warm queries",
                engage=f"p95 {num(warm['p95'], 1)} ms (cold p95 {num(cold['p95'], 1)} ms)",
                baseline=f"p95 {num(base['p95'], 2)} ms (numpy brute force)",
                ratio=ratios(None, (warm["p95"], base["p95"], "p95")),
                latency=beside(percentiles(warm, P3_SHORT), percentiles(base, P3_SHORT, 2), "numpy"),
            )
        )
    if "reindex" in data:
        r = data["reindex"]
        rows.append(
            Row(
                case=f"`engage reindex`, {data['products']:,} products",
                engage=f"{num(r['products_per_s'], 1)} products/s",
                baseline=f"{num(r['model_texts_per_s'], 1)} texts/s (the model alone)",
                ratio=ratios((r["products_per_s"], r["model_texts_per_s"], "throughput"), None),
            )
        )
    return rows


def restock_rows(data: dict[str, Any]) -> list[Row]:
    answered = sum(data["statuses"].values())
    return [
        Row(
            case=f"{data['waiting']:,} waiting, {data['units']:,} units, first wave {data['wave']:,}",
            engage=f"{num(data['told_per_s'], 0)} signups told/s (first push {num(data['first_push_s'], 1)} s, "
            f"wave {num(data['wave_s'], 1)} s)",
            baseline=f"{num(data['campaign_per_s'], 0)} pushes/s (same worker's campaign)",
            ratio=ratios((data["told_per_s"], data["campaign_per_s"], "rate"), None),
            integrity=f"lost {data['wave'] - data['statuses'].get('201', 0)} of {data['wave']:,}, "
            f"duplicated {data['duplicates']}"
            + ("" if answered == data["wave"] else f", {answered} answered"),
        )
    ]


def startup_rows(data: dict[str, Any]) -> list[Row]:
    m = data["median"]
    return [
        Row(
            case=f"{data['mode']}, median of {len(data['runs'])}",
            engage=f"cold start {num(m['cold_start_s'], 2)} s, idle RSS {num(m['idle_rss_mib'], 0)} MiB",
            baseline="n/a (no baseline)",
        )
    ]


def idle_rows(data: dict[str, Any]) -> list[Row]:
    e, b = data["engage"], data["bare"]
    return [
        Row(
            case=f"{e['sockets']:,} idle sockets on one node",
            engage=f"{num(e['kib_per_socket'])} KiB/socket (node idle {num(e['idle_rss_mib'], 0)} MiB)",
            baseline=f"{num(b['kib_per_socket'])} KiB/socket (bare websockets, idle {num(b['idle_rss_mib'], 0)} MiB)",
            ratio=ratio(e["kib_per_socket"], b["kib_per_socket"], "memory per socket"),
            integrity=f"closed by the server {e['closed_by_server']}",
        )
    ]


def backoffice_rows(data: dict[str, Any]) -> list[Row]:
    base, *endpoints = data["endpoints"]
    slowest = max(endpoints, key=lambda r: r["p95_ms"])
    p95s = [r["p95_ms"] for r in endpoints]
    return [
        Row(
            case=f"{data['orders']:,} orders, {len(endpoints)} endpoints x {data['requests']} requests",
            engage=f"p95 median {num(statistics.median(p95s), 1)} ms, slowest {num(slowest['p95_ms'], 1)} ms "
            f"({slowest['endpoint']})",
            baseline=f"p95 {num(base['p95_ms'], 1)} ms (`/api/auth/me`, same server)",
            ratio=ratios(None, (slowest["p95_ms"], base["p95_ms"], "p95")) + " (slowest)",
            latency=beside(
                f"{num(slowest['p50_ms'])} / {num(slowest['p95_ms'])} / —",
                f"{num(base['p50_ms'])} / {num(base['p95_ms'])} / —",
            ),
        )
    ]


def cases(*args: tuple[str, str]) -> tuple[Case, ...]:
    """Cases from (label, arguments) pairs; the label names a case's log when a benchmark has several."""
    return tuple(Case(label, tuple(shlex.split(text))) for label, text in args)


def one(arguments: str) -> tuple[Case, ...]:
    return cases(("", arguments))


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark(
        "chat",
        "chat_load.py",
        "live chat on one node: shopper ↔ agent delivery, send → other side",
        chat_rows,
        quick=one("--conversations 50 --seconds 20 --agents 5"),
        full=one("--conversations 100,1000 --seconds 60 --agents 10"),
    ),
    Benchmark(
        "listing",
        "catalog_listing.py",
        "`GET /api/products` (24 listing URLs), keep-alive clients",
        listing_rows,
        quick=one("--clients 100 --seconds 10"),
        full=one("--clients 100 500 --seconds 20"),
    ),
    Benchmark(
        "flash",
        "flash_storm.py",
        "flash-sale claims, all at once (the issue's shape: 5,000 claimers on one node)",
        flash_rows,
        quick=one("--claimers 5000 --nodes 1"),
        full=cases(
            ("2000", "--claimers 2000 --nodes 1"),
            ("5000", "--claimers 5000 --nodes 1"),
            ("5000x2", "--claimers 5000 --nodes 2"),
        ),
    ),
    Benchmark(
        "fanout",
        "realtime_fanout.py",
        "WebSocket fan-out of one publisher through Redis, send → receive",
        fanout_rows,
        quick=one("--subscribers 1000 --seconds 5 --servers engage,bare"),
        full=one("--subscribers 1000,5000,10000 --seconds 10 --servers engage,bare"),
    ),
    Benchmark(
        "leaderboard",
        "leaderboard_load.py",
        "leaderboard standings to watchers, change → frame",
        leaderboard_rows,
        quick=one("--watchers 1000 --rate 1000 --seconds 8"),
        full=one("--watchers 10000 --rate 1000 --seconds 15"),
    ),
    Benchmark(
        "push",
        "push_send.py",
        "Web Push campaign sent by one `engage worker`",
        push_rows,
        quick=one("--sizes 2000 --webpush 300 --sender 2000"),
        full=one("--sizes 10000,100000"),
    ),
    Benchmark(
        "search",
        "search_latency.py",
        "`SearchService.search` per query; `engage reindex`",
        search_rows,
        quick=one("--scale 1 --queries 30 --passes 3"),
        full=one("--scale 63 --postgres"),
        quick_timeout=900,
        full_timeout=3 * 3600,
    ),
    Benchmark(
        "restock",
        "stock_alert_restock.py",
        "back-in-stock wave after a restock, one worker",
        restock_rows,
        quick=one("--waiting 5000 --units 200 --baseline 600"),
        full=one("--waiting 100000 --units 1000"),
    ),
    Benchmark(
        "startup",
        "startup.py",
        "`engage serve` cold start to `/ready`, idle memory",
        startup_rows,
        quick=one("--runs 1"),
        full=cases(("embedded", "--runs 3"), ("production", "--production --runs 3")),
    ),
    Benchmark(
        "idle",
        "idle_sockets.py",
        "resident memory per idle WebSocket (subscribed to a public channel)",
        idle_rows,
        quick=one("--sockets 2000"),
        full=one("--sockets 10000"),
    ),
    Benchmark(
        "backoffice",
        "backoffice_figures.py",
        "back-office endpoints, 4 requests at a time",
        backoffice_rows,
        quick=one("--orders 100000 --requests 20"),
        full=one("--orders 1000000 --requests 40"),
    ),
)


# ---- running -----------------------------------------------------------------------------------------------


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def shown(path: str) -> str:
    """A path as a reader in the repository root would type it."""
    try:
        return str(Path(path).relative_to(ROOT))
    except ValueError:
        return path


def command_of(benchmark: Benchmark, case: Case) -> list[str]:
    return [sys.executable, str(ROOT / "loadtests" / benchmark.script), *case.args]


def display(command: Sequence[str]) -> str:
    return shlex.join(shown(part) for part in command)


def interrupt(process: subprocess.Popen[bytes]) -> None:
    """SIGINT to the benchmark (its `finally` stops its servers, drops its database), then kill what is left."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # its own session (start_new_session): only what it started
    except ProcessLookupError:
        pass
    process.wait()


def last_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


def failed(case: Case, reason: str) -> list[Row]:
    return [Row(case.label or " ".join(case.args), f"**failed**: {reason}")]


def run_case(benchmark: Benchmark, case: Case, logs: Path, timeout: float) -> Result:
    stem = f"{benchmark.name}{'-' + case.label if case.label else ''}"
    log, figures = logs / f"{stem}.log", logs / f"{stem}.json"
    command = [*command_of(benchmark, case), "--json", str(figures)]
    print(f"[{datetime.now(UTC):%H:%M:%S}] {display(command[:-2])}  (log: {log})", flush=True)
    load_before, started = load_average(), time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            code: int | None = process.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            interrupt(process)  # on a timeout, or Ctrl-C here; a no-op for a benchmark that finished
    seconds = time.monotonic() - started
    rows = rows_of(benchmark, case, code, timeout, log, figures)
    print(f"    {seconds:.0f} s: " + "; ".join(f"{r.case} {r.engage}".strip() for r in rows), flush=True)
    return Result(benchmark, case, command[:-2], rows, seconds, f"{load_before} → {load_average()}")


def rows_of(
    benchmark: Benchmark, case: Case, code: int | None, timeout: float, log: Path, figures: Path
) -> list[Row]:
    if code is None:
        return failed(case, f"timed out after {timeout:.0f} s")
    if not figures.exists():
        return failed(case, f"exit status {code}: {last_line(log)}")
    try:
        rows = benchmark.adapter(json.loads(figures.read_text()))
    except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError) as exc:
        return failed(case, f"its figures could not be read ({type(exc).__name__}: {exc})")
    if code != 0:  # the figures are there, but the benchmark's own checks failed: they may mean little
        return [
            replace(
                r,
                engage=f"{r.engage} (**its check failed**)",
                integrity=f"**failed, exit status {code}**: {r.integrity}",
            )
            for r in rows
        ]
    return rows


# ---- the README --------------------------------------------------------------------------------------------

SECTION = """## All benchmarks in one run (`loadtests/run_all.py`)

"""


def git_commit() -> str:
    def git(*args: str) -> str:
        env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # read only: no index refresh
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, env=env
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" + uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def table(results: Sequence[Result]) -> list[str]:
    lines = [
        "| benchmark | what is measured | case | Engage | baseline (same run) | ratio Engage / baseline "
        "| p50 / p95 / p99 ms, Engage (baseline) | CPU per operation, Engage (baseline) "
        "| lost / duplicated / oversold | load average before → after |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for row in result.rows:
            cells = [
                result.benchmark.name,
                result.benchmark.measures,
                row.case,
                row.engage,
                row.baseline,
                row.ratio,
                row.latency,
                row.cpu,
                row.integrity,
                result.load,
            ]
            lines.append("| " + " | ".join(cell(c) for c in cells) + " |")
    return lines


def block(results: Sequence[Result], began: datetime, loads: tuple[str, str], full: bool) -> str:
    ended = datetime.now(UTC)
    minutes = (ended - began).total_seconds() / 60
    head = [
        f"Run {began:%Y-%m-%d %H:%M} to {ended:%H:%M} UTC ({minutes:.0f} min), {'full' if full else 'quick'} sizes, "
        f"commit {git_commit()}; load average (1, 5, 15 min) {loads[0]} before, {loads[1]} after.",
        "",
        f"Command: `{display([sys.executable, *sys.argv])}`",
        "",
    ]
    commands = ["", "Each row's own command (run it alone for the benchmark's whole printout):", ""] + [
        f"- `{display(r.command)}` ({r.seconds:.0f} s)" for r in results
    ]
    return "\n".join([*head, *table(results), *commands]) + "\n"


def write_readme(path: Path, generated: str) -> None:
    text = path.read_text()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
    else:
        head, tail = text.rstrip("\n") + "\n\n" + SECTION, "\n"
    path.write_text(f"{head}{BEGIN}\n{generated}{END}{tail}")


# ---- the command -------------------------------------------------------------------------------------------


def selected(only: str | None) -> list[Benchmark]:
    if not only:
        return list(BENCHMARKS)
    by_name = {b.name: b for b in BENCHMARKS} | {b.script.removesuffix(".py"): b for b in BENCHMARKS}
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise SystemExit(
            f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(b.name for b in BENCHMARKS)}"
        )
    return list(dict.fromkeys(by_name[n] for n in names))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--full", action="store_true", help="the sizes of the issue's targets (hours)")
    parser.add_argument("--only", help="comma-separated names: " + ",".join(b.name for b in BENCHMARKS))
    parser.add_argument("--timeout", type=float, help="seconds per benchmark run (default: each one's own)")
    parser.add_argument(
        "--readme", type=Path, default=README, help="where the table goes (between its markers)"
    )
    parser.add_argument("--no-readme", action="store_true", help="print the table, leave the README alone")
    parser.add_argument("--logs", type=Path, help="keep each benchmark's output and figures here")
    parser.add_argument("--list", action="store_true", help="print the benchmarks' commands and stop")
    args = parser.parse_args()

    benchmarks = selected(args.only)
    plan = [(b, c) for b in benchmarks for c in (b.full if args.full else b.quick)]
    if args.list:
        for b, c in plan:
            print(f"{b.name:12} {display(command_of(b, c))}")
        return 0
    logs = args.logs or Path(tempfile.mkdtemp(prefix="engage-run-all-"))
    logs.mkdir(parents=True, exist_ok=True)
    began, load_before = datetime.now(UTC), load_average()
    results = []
    for benchmark, case in plan:
        timeout = args.timeout or (benchmark.full_timeout if args.full else benchmark.quick_timeout)
        results.append(run_case(benchmark, case, logs, timeout))
    generated = block(results, began, (load_before, load_average()), args.full)
    print("\n" + generated)
    if not args.no_readme:
        write_readme(args.readme, generated)
        print(f"written to {shown(str(args.readme))}; logs and figures in {logs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
