"""Search at 10,000 products: `engage reindex` throughput, then warm search latency beside a brute-force
numpy cosine baseline measured in the same run, on SQLite (embedded) and, with --postgres, PostgreSQL.

    /work/main/.venv/bin/python loadtests/search_latency.py                 # SQLite, 10,080 products
    /work/main/.venv/bin/python loadtests/search_latency.py --postgres      # then the same on PostgreSQL
    /work/main/.venv/bin/python loadtests/search_latency.py --scale 7       # 1,120 products (quicker)

The catalog is the demo shop's 160 products, each in `--scale` variants (a colour or edition in the name, a
sentence about it in the description, its own price and SKUs), written straight into a scratch database.
`engage reindex` (a subprocess, the real command) embeds and indexes all of them; its products/s is printed
beside the model's raw encoding rate on the same texts measured here first, in float32 and as the indexer
encodes them (bfloat16 where the CPU has it, see bots/embeddings/model.py). PostgreSQL reuses the SQLite
run's vectors (same products, same content hashes: `engage reindex` embeds nothing and writes documents).

Latency is `SearchService.search` (lexical leg in the database, semantic leg in memory, fusion, facets,
availability), timed per query over `--queries` distinct queries: pass 1 embeds each query (cold cache),
passes 2+ find the query vector cached (the warm case). The baseline is the semantic leg alone done naively:
embedding cached, one matrix-vector product over all products, top 24 by argpartition, measured right after
each warm search so that both see the same (shared, busy) machine.

`--data-dir DIR` keeps the scratch data (SQLite file) there; run again with the same DIR to measure latency
again without embedding 10,000 products anew.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODIFIERS = [
    "Slate", "Sand", "Forest", "Ember", "Glacier", "Midnight", "Coral", "Olive", "Pearl", "Copper",
    "Pro", "Lite", "Travel", "Studio", "Max", "Mini", "Classic", "Sport", "Plus", "Limited",
]  # fmt: skip
PHRASES = [
    "Finished in {m}, a colour picked for everyday use.",
    "The {m} edition keeps everything that made the original popular.",
    "A {m} version with small refinements from customer feedback.",
]
EXTRA_QUERIES = [
    "wireless earbuds for running", "something to keep coffee hot", "gift for a new dad", "warm jacket",
    "noise cancelling", "kids backpack", "gaming mouse", "camping stove", "yoga pants", "espresso machine",
    "phone charger", "hiking boots waterproof", "desk lamp", "blender", "rain jacket", "smart watch",
    "electric kettle", "sleeping bag for winter", "running shoes", "coffee grinder", "laptop stand",
    "water bottle", "bluetooth speaker", "travel pillow", "cast iron", "sunscreen", "baby monitor",
    "board game", "tent for two", "mechanical keyboard", "face serum", "headphones under 100",
    "dog toy", "winter gloves", "sofa cushion", "chef knife", "usb c hub", "trail running", "dumbbells",
    "beard trimmer", "garden hose", "teapot", "wool socks", "denim jacket", "fitness tracker",
    "tripod", "soundbar", "hair dryer", "picnic blanket", "e-reader", "cycling helmet", "lunch box",
    "scented candle", "standing desk", "toddler shoes", "sunglasses", "cookware set", "duffel bag",
    "moisturizer for dry skin", "portable power bank", "air fryer", "reading light", "rucksack 30l",
    "non stick pan", "kids raincoat", "thermal leggings", "microphone for podcast", "webcam",
]  # fmt: skip


def variants(scale: int) -> list[dict[str, Any]]:
    source = json.loads((ROOT / "engage" / "demo_data" / "products.json").read_text())
    out = []
    for k in range(scale):
        for n, item in enumerate(source):
            if k == 0:
                out.append(item)
                continue
            m = MODIFIERS[(k + n) % len(MODIFIERS)]
            copy = json.loads(json.dumps(item))
            copy["id"] = f"{item['id']}-v{k:02d}"
            copy["name"] = f"{item['name']} {m}"
            copy["description"] = f"{item.get('description', '')} {PHRASES[k % len(PHRASES)].format(m=m)}"
            copy["tags"] = [*item.get("tags", []), m.lower()]
            for v in copy["variants"]:
                v["sku"] = f"{v['sku']}-V{k:02d}"
                v["price_cents"] = max(100, int(v["price_cents"] * (0.8 + 0.4 * ((k * 7 + n) % 11) / 10)))
                v.pop("compare_at_cents", None)
            out.append(copy)
    return out


async def seed(url: str, items: list[dict[str, Any]]) -> None:
    """Categories, products and variants written in bulk (commerce's importer checks each row: too slow to
    seed 10,000 products for a benchmark; the products are the same)."""
    from sqlalchemy import insert

    from commerce.catalog.models import Category, Product, Variant
    from engage.platform.clock import utcnow
    from engage.platform.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    now = utcnow()
    async with make_sessionmaker(engine)() as session:
        categories: dict[tuple[str, str | None], int] = {}  # (name, parent name) -> id
        for item in items:
            top, sub = item["category"], item.get("subcategory")
            for name, parent in ((top, None), (sub, top)):
                if name and (name, parent) not in categories:
                    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
                    if parent is not None:
                        slug = re.sub(r"[^a-z0-9]+", "-", parent.lower()).strip("-") + "--" + slug
                    category = Category(slug=slug, name=name, parent_id=categories.get((parent, None)))
                    session.add(category)
                    await session.flush()
                    categories[(name, parent)] = category.id
        product_rows, variant_rows = [], []
        for pid, item in enumerate(items, start=1):
            sub = item.get("subcategory")
            product_rows.append(
                {
                    "id": pid,
                    "handle": item["id"],
                    "name": item["name"],
                    "brand": item.get("brand", ""),
                    "description": item.get("description", ""),
                    "category_id": categories[(sub, item["category"])]
                    if sub
                    else categories[(item["category"], None)],
                    "tags": item.get("tags", []),
                    "attributes": item.get("attributes", {}),
                    "images": [],
                    "status": "published",
                    "popularity": len(item["variants"]) * 10 + pid % 7,
                    "min_price_cents": min(v["price_cents"] for v in item["variants"]),
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for position, v in enumerate(item["variants"]):
                variant_rows.append(
                    {
                        "product_id": pid,
                        "sku": v["sku"],
                        "options": v.get("options", {}),
                        "price_cents": v["price_cents"],
                        "compare_at_cents": v.get("compare_at_cents"),
                        "weight_grams": v.get("weight_grams", 0),
                        "position": position,
                    }
                )
        for start in range(0, len(product_rows), 1000):
            await session.execute(insert(Product), product_rows[start : start + 1000])
        for start in range(0, len(variant_rows), 1000):
            await session.execute(insert(Variant), variant_rows[start : start + 1000])
        await session.commit()
    await engine.dispose()


def reindex(env: dict[str, str]) -> tuple[float, str]:
    """`engage reindex` as a user runs it; returns (products/s embedded, its report line)."""
    done = subprocess.run(
        [sys.executable, "-m", "engage.cli", "reindex"],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    line = done.stdout.strip().splitlines()[-1]
    rate = re.search(r"\(([\d.]+) products/s embedded\)", line)
    return (float(rate.group(1)) if rate else 0.0), line


def encoding_rate(url: str, sample: int = 320) -> dict[bool, float]:
    """The model alone on the texts the indexer embeds, in this process: texts per second in float32 and
    (key True) as the indexer encodes them, bfloat16 where the CPU has it (the ceiling for `engage reindex`,
    which also reads, writes and commits)."""
    from bots.embeddings.model import BULK_CHUNK, encode, load_model
    from bots.search.documents import load_cards
    from engage.platform.db import make_engine, make_sessionmaker

    async def texts() -> list[str]:
        engine = make_engine(url)
        async with make_sessionmaker(engine)() as session:
            cards = await load_cards(session, list(range(1, sample + 1)))
        await engine.dispose()
        return sorted((c.embedding_text() for c in cards), key=len)

    sample_texts = asyncio.run(texts())
    load_model()
    rates = {}
    for bfloat16 in (False, True):
        encode(sample_texts[:BULK_CHUNK], bfloat16=bfloat16)  # warm
        started = time.perf_counter()
        for start in range(0, len(sample_texts), BULK_CHUNK):
            encode(sample_texts[start : start + BULK_CHUNK], bfloat16=bfloat16)
        rates[bfloat16] = len(sample_texts) / (time.perf_counter() - started)
    return rates


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def latency(env: dict[str, str], queries: list[str], passes: int) -> dict[str, list[float]]:
    from bots.embeddings.vectors import best_rows
    from engage.config import load_settings
    from engage.wiring import build

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        settings = load_settings()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    services = build(settings, run_cron=False)
    await services.start()
    search = services.bots.search
    times: dict[str, list[float]] = {"cold": [], "warm": [], "baseline": []}
    try:
        async with services.sessionmaker() as session:
            await search.index.ensure_loaded(session)
            await session.commit()
        await search.embedder.loaded()
        assert len(search.index.vectors) >= len(search.index.cards) * 0.99, "the index is not complete"
        snapshot = search.index.vectors.snapshot()
        for n in range(passes):
            for q in queries:
                async with services.sessionmaker() as session:
                    started = time.perf_counter()
                    await search.search(session, q, limit=24)
                    times["cold" if n == 0 else "warm"].append((time.perf_counter() - started) * 1000)
                if n:  # the baseline right after, so both see the same machine
                    vector = await search.embedder.embed_query(q)  # cached, as in the warm case
                    started = time.perf_counter()
                    sims = snapshot.matrix @ vector
                    [int(snapshot.ids[i]) for i in best_rows(sims, 24)]
                    times["baseline"].append((time.perf_counter() - started) * 1000)
    finally:
        await services.stop()
    return times


def percentiles(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """p50/p95/p99/max (ms) per kind (cold, warm, baseline), for --json."""
    return {
        kind: {f"p{p}": percentile(values, p) for p in (50, 95, 99)} | {"max": max(values), "n": len(values)}
        for kind, values in times.items()
    }


def report(label: str, times: dict[str, list[float]]) -> list[str]:
    base50, base95 = percentile(times["baseline"], 50), percentile(times["baseline"], 95)
    lines = [f"{label}: search latency, ms (n = {len(times['warm'])} warm, {len(times['cold'])} cold)"]
    for kind in ("warm", "cold", "baseline"):
        p50, p95 = percentile(times[kind], 50), percentile(times[kind], 95)
        ratio = f"   {p50 / base50:6.1f}x / {p95 / base95:6.1f}x the baseline" if kind != "baseline" else ""
        lines.append(f"  {kind:9} p50 {p50:7.2f}  p95 {p95:7.2f}  max {max(times[kind]):7.2f}{ratio}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=63, help="variants per demo product (63: 10,080)")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--postgres", action="store_true", help="also on a scratch PostgreSQL database")
    parser.add_argument("--data-dir", help="keep (or reuse) the SQLite catalog and index here")
    parser.add_argument("--json", type=Path, help="also write the figures here (loadtests/run_all.py)")
    args = parser.parse_args()

    items = variants(args.scale)
    eval_queries = json.loads((ROOT / "bots" / "evaluation" / "data" / "search_queries.json").read_text())
    queries = list(dict.fromkeys([q["query"] for q in eval_queries["queries"]] + EXTRA_QUERIES))[
        : args.queries
    ]
    base_env = {"ENGAGE_LOG_LEVEL": "WARNING", "ENGAGE_REDIS_URL": "", "ENGAGE_DEMO_SEED": "false"}
    print(
        f"{len(items)} products, {len(queries)} queries, {args.passes} passes; load average {os.getloadavg()[0]:.1f}"
    )

    data_dir = args.data_dir or tempfile.mkdtemp(prefix="engage-search-bench-")
    reuse = bool(args.data_dir) and (Path(data_dir) / "engage.db").exists()
    sqlite_env = {**base_env, "ENGAGE_DATA_DIR": data_dir, "ENGAGE_DATABASE_URL": ""}
    pg_name = f"engage_search_bench_{uuid.uuid4().hex[:8]}"
    figures: dict[str, Any] = {"products": len(items), "queries": len(queries), "passes": args.passes}
    try:
        if reuse:
            print(f"reusing the catalog and index in {data_dir}")
        else:
            Path(data_dir).mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [sys.executable, "-m", "engage.cli", "db", "upgrade"],
                env={**os.environ, **sqlite_env},
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            started = time.perf_counter()
            asyncio.run(seed(f"sqlite+aiosqlite:///{data_dir}/engage.db", items))
            print(f"seeded in {time.perf_counter() - started:.1f} s")
            from bots.embeddings.model import bfloat16_native

            rates = encoding_rate(f"sqlite+aiosqlite:///{data_dir}/engage.db")
            print(
                f"model alone on the indexer's texts: {rates[False]:.1f} texts/s in float32, {rates[True]:.1f} "
                f"as the indexer encodes them (bfloat16: {'yes' if bfloat16_native() else 'not on this CPU'})"
            )
            rate, line = reindex(sqlite_env)
            print(f"engage reindex (SQLite): {line}")
            print(
                f"  indexer throughput = {rate / rates[True]:.2f}x the model alone, {rate / rates[False]:.2f}x float32"
            )
            figures["reindex"] = {
                "products_per_s": rate,
                "model_texts_per_s": rates[True],
                "model_float32_texts_per_s": rates[False],
            }
        times = asyncio.run(latency(sqlite_env, queries, args.passes))
        figures["sqlite"] = percentiles(times)
        lines = report("SQLite", times)
        print("\n".join(lines))

        if args.postgres:
            pg_env = {**base_env, "ENGAGE_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1/{pg_name}"}
            subprocess.run(
                ["psql", "-qU", "postgres", "-h", "127.0.0.1", "-c", f'CREATE DATABASE "{pg_name}"'],
                check=True,
            )
            subprocess.run(
                [sys.executable, "-m", "engage.cli", "db", "upgrade"],
                env={**os.environ, **pg_env},
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            asyncio.run(seed(pg_env["ENGAGE_DATABASE_URL"], items))
            asyncio.run(
                copy_vectors(f"sqlite+aiosqlite:///{data_dir}/engage.db", pg_env["ENGAGE_DATABASE_URL"])
            )
            _, line = reindex(pg_env)
            print(f"engage reindex (PostgreSQL, vectors from the SQLite run): {line}")
            times = asyncio.run(latency(pg_env, queries, args.passes))
            figures["postgres"] = percentiles(times)
            print("\n".join(report("PostgreSQL", times)))
    finally:
        if not args.data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)
        if args.postgres:
            subprocess.run(
                [
                    "psql",
                    "-qU",
                    "postgres",
                    "-h",
                    "127.0.0.1",
                    "-c",
                    f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)',
                ],
                check=False,
            )
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


async def copy_vectors(source_url: str, target_url: str) -> None:
    from sqlalchemy import insert, select

    from bots.search.models import ProductEmbedding
    from engage.platform.db import make_engine, make_sessionmaker

    source, target = make_engine(source_url), make_engine(target_url)
    async with make_sessionmaker(source)() as s:
        rows = [dict(r._mapping) for r in (await s.execute(select(ProductEmbedding.__table__))).all()]
    async with make_sessionmaker(target)() as t:
        for start in range(0, len(rows), 1000):
            await t.execute(insert(ProductEmbedding), rows[start : start + 1000])
        await t.commit()
    await source.dispose()
    await target.dispose()


if __name__ == "__main__":
    main()
