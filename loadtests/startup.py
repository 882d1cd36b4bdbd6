"""Cold start and idle memory of `engage serve`, measured under /usr/bin/time -v.

    .venv/bin/python loadtests/startup.py                      # embedded (fresh data dir)
    .venv/bin/python loadtests/startup.py --production         # PostgreSQL + Redis (scratch database)

Cold start = launch to the first 200 from /ready. Idle RSS = the server's resident memory after
IDLE seconds with no traffic (from /proc), and the peak RSS that /usr/bin/time reports at exit.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

IDLE = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        return int(re.search(r"VmRSS:\s+(\d+)", fh.read()).group(1))


def measure(env: dict[str, str]) -> dict[str, float]:
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        ["/usr/bin/time", "-v", sys.executable, "-m", "engage.cli", "serve", "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/ready"
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as res:
                if res.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None:
            raise SystemExit(proc.stderr.read())
        time.sleep(0.05)
    cold = time.perf_counter() - started
    server_pid = int(subprocess.check_output(["pgrep", "-P", str(proc.pid)]).split()[0])
    time.sleep(IDLE)
    idle = rss_kib(server_pid)
    os.kill(server_pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1))
    return {"cold_start_s": cold, "idle_rss_mib": idle / 1024, "peak_rss_mib": peak / 1024}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--production", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", help="also write the figures here (loadtests/run_all.py)")
    args = parser.parse_args()
    env = {"ENGAGE_LOG_LEVEL": "WARNING"}
    cleanup = None
    if args.production:
        name = f"engage_startup_{uuid.uuid4().hex[:8]}"
        subprocess.run(
            ["psql", "-qU", "postgres", "-h", "127.0.0.1", "-c", f'CREATE DATABASE "{name}"'], check=True
        )
        env |= {
            "ENGAGE_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1/{name}",
            "ENGAGE_REDIS_URL": "redis://127.0.0.1:6379/0",
            "ENGAGE_REDIS_PREFIX": name,
        }
        subprocess.run(
            [sys.executable, "-m", "engage.cli", "db", "upgrade"], env={**os.environ, **env}, check=True
        )
        cleanup = ["psql", "-qU", "postgres", "-h", "127.0.0.1", "-c", f'DROP DATABASE "{name}" WITH (FORCE)']
    else:
        env["ENGAGE_DATA_DIR"] = tempfile.mkdtemp(prefix="engage-startup-")
        # the first start migrates and seeds; measure the starts after it
        measure(env)
    try:
        rows = [measure(env) for _ in range(args.runs)]
    finally:
        if cleanup:
            subprocess.run(cleanup, check=False)
    mode = "production" if args.production else "embedded"
    medians = {}
    for key in ("cold_start_s", "idle_rss_mib", "peak_rss_mib"):
        values = sorted(r[key] for r in rows)
        medians[key] = values[len(values) // 2]
        print(
            f"{mode:10} {key:14} median {values[len(values) // 2]:8.2f}  (runs: {', '.join(f'{v:.2f}' for v in values)})"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"mode": mode, "runs": rows, "median": medians}, fh, indent=2)


if __name__ == "__main__":
    main()
