"""Bulk import: the demo catalog lands whole, CSV and JSON agree, bad rows are reported by line."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from commerce import inventory
from commerce.catalog import import_catalog
from commerce.catalog.importing import CSV_COLUMNS
from commerce.catalog.models import Category, Product, Variant
from engage.platform.db import make_engine, make_sessionmaker
from engage.platform.errors import InvalidInput
from engage.platform.identity import Role
from engage.platform.migrations import upgrade
from engage.platform.runtime import Runtime
from tests.commerce.conftest import DEMO_CATALOG
from tests.conftest import ROOT, TEST_ENV

CSV = ROOT / "tests" / "data" / "products.csv"
BAD_CSV = ROOT / "tests" / "data" / "products_bad_rows.csv"


async def _snapshot(session) -> dict[str, dict]:
    products = (
        await session.scalars(
            select(Product).options(selectinload(Product.variants), selectinload(Product.category))
        )
    ).all()
    levels = await inventory.levels(session, [v.id for p in products for v in p.variants])
    return {
        p.handle: {
            "name": p.name,
            "brand": p.brand,
            "description": p.description,
            "tags": p.tags,
            "category": p.category.name if p.category else None,
            "min_price": p.min_price_cents,
            "variants": [
                (v.sku, v.options, v.price_cents, v.compare_at_cents, v.weight_grams, levels[v.id].on_hand)
                for v in p.variants
            ],
        }
        for p in products
    }


@pytest.mark.slow
async def test_demo_catalog_and_csv_import_cleanly_and_agree(tmp_path) -> None:
    """Into a database of its own: JSON first, then the CSV of the same catalog changes nothing."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'import.db'}"
    await upgrade(url)
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as s:
            report = await import_catalog(s, DEMO_CATALOG.read_bytes(), fmt="json", default_threshold=5)
            assert report.ok, report.lines()
            source = json.loads(DEMO_CATALOG.read_text())
            assert len(report.created) == len(source) == 160
            assert report.variants == sum(len(p["variants"]) for p in source)

            after_json = await _snapshot(s)
            for item in source:
                got = after_json[item["id"]]
                assert got["name"] == item["name"] and got["category"] == item["subcategory"]
                assert got["min_price"] == min(v["price_cents"] for v in item["variants"])
                assert [(sku, stock) for sku, *_, stock in got["variants"]] == [
                    (v["sku"], v["stock"]) for v in item["variants"]
                ]
            movements = await s.scalar(select(func.count()).select_from(inventory.StockMovement))

            report = await import_catalog(s, CSV.read_bytes(), fmt="csv", default_threshold=5)
            assert report.ok, report.lines()
            assert len(report.updated) == 160 and not report.created
            assert await _snapshot(s) == after_json
            # Same figures: no stock moved, and the ledger accounts for every unit.
            assert await s.scalar(select(func.count()).select_from(inventory.StockMovement)) == movements
            assert all(c.consistent for c in await inventory.check_ledger(s))
            roots = (await s.scalars(select(Category).where(Category.parent_id.is_(None)))).all()
            assert len(roots) == 10
    finally:
        await engine.dispose()


async def test_bad_rows_are_reported_by_line_and_good_rows_land(runtime: Runtime) -> None:
    async with runtime.sessionmaker() as s:
        report = await import_catalog(s, BAD_CSV.read_bytes(), fmt="csv", default_threshold=5)
        reasons = {p.where: p.reason for p in report.problems}
        assert reasons == {
            "line 4": "price_cents cannot be negative, got -2499",
            "line 5": "price_cents must be a whole number, got '12.99'",
            "line 6": "sku is required",
            "line 8": "stock must be a whole number, got 'lots'",
            "line 9": "SKU LX-IMP005-WHI already used on line 7",
            "line 10": "name is 600 characters long; the limit is 300",
            "line 11": "name is required",
            "line 13": "expected 15 columns, found 16",
        }
        landed = (
            await s.scalars(
                select(Product)
                .where(Product.handle.in_(["imp-001", "imp-005", "imp-010", "imp-002", "imp-006"]))
                .options(selectinload(Product.variants))
            )
        ).all()
        assert {p.handle: len(p.variants) for p in landed} == {"imp-001": 2, "imp-005": 1, "imp-010": 1}
        socks = next(p for p in landed if p.handle == "imp-001")
        assert socks.min_price_cents == 1800 and socks.tags == ["socks", "cotton", "multipack", "men"]
        level = await inventory.get_level(s, socks.variants[1].id)
        assert level is not None and level.on_hand == 80


async def test_json_problems_name_the_product_and_sku_clashes_are_refused(runtime: Runtime) -> None:
    items = [
        {
            "id": "ok-json-1",
            "name": "Fine",
            "variants": [{"sku": "OK-JSON-1", "price_cents": 100, "stock": 1}],
        },
        {"id": "bad json", "name": "Bad handle", "variants": [{"sku": "X-1", "price_cents": 1}]},
        {"id": "no-variants", "name": "Nothing to buy", "variants": []},
        {"id": "steals-sku", "name": "Thief", "variants": [{"sku": "OK-JSON-1", "price_cents": 5}]},
        {
            "id": "cheap",
            "name": "Odd",
            "variants": [{"sku": "ODD-1", "price_cents": 500, "compare_at_cents": 400}],
        },
    ]
    async with runtime.sessionmaker() as s:
        report = await import_catalog(s, json.dumps(items).encode(), fmt="json", default_threshold=5)
    problems = [str(p) for p in report.problems]
    assert report.created == ["ok-json-1"]
    assert problems[0].startswith("product 2 (bad json): Expected str matching regex")
    assert problems[1].startswith("product 3 (no-variants): Expected array of length >= 1")
    assert (
        problems[2]
        == "product 4 (steals-sku): steals-sku: SKU already used by another product: OK-JSON-1 (on ok-json-1)"
    )
    assert problems[3] == "product 5 (cheap): cheap: SKU ODD-1: compare_at_cents must be above price_cents"


@pytest.mark.slow
def test_cli_prints_the_report(tmp_path) -> None:
    env = {
        **os.environ,
        **TEST_ENV,
        "ENGAGE_DATA_DIR": str(tmp_path),
        "ENGAGE_DATABASE_URL": "",
        "ENGAGE_REDIS_URL": "",
    }

    def engage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "engage.cli", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )

    assert engage("db", "upgrade").returncode == 0
    bad = engage("catalog", "import", str(BAD_CSV))
    assert bad.returncode == 1
    assert bad.stdout.splitlines()[:3] == [
        "imported 3 products (3 new, 0 updated) with 4 variants",
        "skipped 8 rows:",
        "  line 4: price_cents cannot be negative, got -2499",
    ]
    missing = engage("catalog", "import", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr


async def test_variant_rows_keep_their_options(runtime: Runtime) -> None:
    rows = (
        "product_id,name,brand,category,subcategory,tags,description,sku,option_color,option_size,option_other,"
        "price_cents,compare_at_cents,stock,weight_grams\n"
        'opt-001,Kettle,Pressa,Kitchen & Coffee,Kettles,kettle,"A kettle,\nwith a newline",OPT-1-S,Steel,,capacity=1 L;plug=UK,4900,,3,900\n'
        "opt-001,Kettle,Pressa,Kitchen & Coffee,Kettles,kettle,x,OPT-1-B,Black,,capacity=oops,4900,,3,900\n"
        "opt-001,Kettle,Pressa,Kitchen & Coffee,Kettles,kettle,x,OPT-1-C,Black,,,4900,,3,900,\n"
    )
    async with runtime.sessionmaker() as s:
        report = await import_catalog(s, rows.encode(), fmt="csv", default_threshold=5)
        assert [str(p) for p in report.problems] == ["line 5: expected 15 columns, found 16"]
        variants = (
            await s.scalars(
                select(Variant).where(Variant.sku.in_(["OPT-1-S", "OPT-1-B"])).order_by(Variant.sku)
            )
        ).all()
        assert [v.options for v in variants] == [
            {"color": "Black", "capacity": "oops"},
            {"color": "Steel", "capacity": "1 L", "plug": "UK"},
        ]


def _csv(*rows: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows)
    return out.getvalue().encode()


def _row(handle: str, sku: str, **cells: str) -> list[str]:
    row = {c: "" for c in CSV_COLUMNS} | {
        "product_id": handle,
        "name": f"Product {handle}",
        "sku": sku,
        "price_cents": "1000",
        "stock": "3",
    }
    return list((row | cells).values())


@pytest.mark.parametrize("mode", ["embedded", "production"])
async def test_hostile_rows_are_reported_by_line_and_the_rest_lands(mode, runtime, sqlite_runtime) -> None:
    """A field over csv's 131,072 limit, a NUL byte, a product nested 1,000 deep: rows reported, no 500."""
    rt = sqlite_runtime if mode == "embedded" else runtime
    tag = uuid.uuid4().hex[:6]
    data = _csv(
        _row(f"ok-{tag}-1", f"OK-{tag}-1"),
        _row(f"big-{tag}", f"BIG-{tag}", description="x" * 200_000),
        _row(f"nul-{tag}", f"NUL-{tag}", name="bad\x00name"),
        _row(f"ok-{tag}-2", f"OK-{tag}-2"),
    )
    async with rt.sessionmaker() as s:
        report = await import_catalog(s, data, fmt="csv", default_threshold=5)
    assert sorted(report.created) == [f"ok-{tag}-1", f"ok-{tag}-2"], report.lines()
    reasons = {p.where: p.reason for p in report.problems}
    assert set(reasons) == {"line 3", "line 4"}, reasons
    assert "description" in reasons["line 3"] and "NUL" in reasons["line 4"]

    def product(handle: str, **extra: object) -> dict:
        return {
            "id": handle,
            "name": handle,
            "variants": [{"sku": handle.upper(), "price_cents": 100}],
            **extra,
        }

    deep = json.dumps(product(f"deep-{tag}")).replace(
        '"variants"', '"attributes": {"a": ' + "[" * 1000 + "]" * 1000 + '}, "variants"'
    )
    nul = json.dumps(product(f"jnul-{tag}", description="a\x00b"))
    fine = json.dumps(product(f"jok-{tag}"))
    for wrapper in ("[{}]", '{{"products": [{}]}}'):
        async with rt.sessionmaker() as s:
            report = await import_catalog(
                s, wrapper.format(f"{deep}, {nul}, {fine}").encode(), fmt="json", default_threshold=5
            )
        assert report.created + report.updated == [f"jok-{tag}"], report.lines()
        reasons = {p.where: p.reason for p in report.problems}
        assert set(reasons) == {"product 1", "product 2"}, reasons
        assert "deeper" in reasons["product 1"] and "NUL" in reasons["product 2"]
    async with rt.sessionmaker() as s:
        report = await import_catalog(s, b"[" * 1000 + b"]" * 1000, fmt="json", default_threshold=5)
        assert [p.where for p in report.problems] == ["product 1"] and not report.created
        with pytest.raises(InvalidInput):
            await import_catalog(s, b"{" * 1000, fmt="json", default_threshold=5)


async def test_hostile_upload_is_a_report_not_a_500(client, make_account) -> None:
    admin = await make_account(Role.admin)
    tag = uuid.uuid4().hex[:6]
    data = _csv(_row(f"big-{tag}", f"BIG-{tag}", tags="y" * 150_000), _row(f"ok-{tag}", f"OK-{tag}"))
    res = await client.post(
        "/api/admin/catalog/import", files={"file": ("c.csv", data, "text/csv")}, headers=admin.headers
    )
    assert res.status_code == 200, res.text
    assert res.json()["created"] == [f"ok-{tag}"] and [p["where"] for p in res.json()["problems"]] == [
        "line 2"
    ]
    res = await client.post(
        "/api/admin/catalog/import",
        files={"file": ("deep.json", b"[" * 5000 + b"]" * 5000, "application/json")},
        headers=admin.headers,
    )
    assert res.status_code == 200 and res.json()["problems"][0]["where"] == "product 1", res.text
