"""Bulk import from JSON (a list of products) or CSV (one row per variant).

Bad rows are reported by line (CSV) or by position (JSON) with the reason; every good product lands.
Each product is written in a savepoint of its own, so one that clashes with the database is skipped alone.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.cache import CatalogCache
from commerce.catalog.drafts import HANDLE_PATTERN, ImportedProduct, ProductDraft, VariantDraft
from commerce.catalog.editing import save
from commerce.catalog.images import generated_url
from engage.platform.errors import DomainError, InvalidInput
from engage.platform.wire import NUL_REFUSED, json_problem

CSV_COLUMNS = [
    "product_id",
    "name",
    "brand",
    "category",
    "subcategory",
    "tags",
    "description",
    "sku",
    "option_color",
    "option_size",
    "option_other",
    "price_cents",
    "compare_at_cents",
    "stock",
    "weight_grams",
]
MAX_FILE_BYTES = 20 * 1024 * 1024
# Python's csv refuses fields over 131,072 characters (csv.Error, for the whole file). A field is read
# whole up to the file's size instead, and the row's own limits (a description's 20,000) report it by line.
csv.field_size_limit(max(csv.field_size_limit(), MAX_FILE_BYTES))
# Products written per transaction: each lands with its events, and other writers get their turn.
COMMIT_EVERY = 20


@dataclass(frozen=True, slots=True)
class Problem:
    where: str  # "line 7" or "product 12 (aud-012)"
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    variants: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = [
            f"imported {len(self.created) + len(self.updated)} products ({len(self.created)} new, "
            f"{len(self.updated)} updated) with {self.variants} variants"
        ]
        if self.problems:
            out.append(f"skipped {len(self.problems)} rows:")
            out.extend(f"  {p}" for p in self.problems)
        return out


@dataclass
class _Pending:
    handle: str
    where: str  # where to point when the whole product fails
    draft: ProductDraft


def _friendly(error: msgspec.ValidationError) -> str:
    text = str(error)
    return text.replace("`", "").replace(" - at $.", " at ").replace("$.", "")


# ---- JSON --------------------------------------------------------------------------------------------------


# A JSON string, or one of the characters that shape a document (outside strings).
_JSON_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]', re.DOTALL)


@dataclass(frozen=True, slots=True)
class _Unreadable:
    reason: str


def _elements(data: bytes) -> list[bytes]:
    """The raw text of each element of the file's product list (the outermost array), found without
    parsing: a file with one hostile product (nested a thousand deep, a NUL) still has readable others."""
    items: list[bytes] = []
    depth, list_depth, start = 0, 0, 0
    for token in _JSON_TOKEN.finditer(data):
        char = token.group()[:1]
        if char == b'"':
            continue
        if char in b"[{":
            depth += 1
            if not list_depth and char == b"[":
                list_depth, start = depth, token.end()
        elif char in b"]}":
            if depth == list_depth:
                items.append(data[start : token.start()])
                break
            depth -= 1
        elif depth == list_depth:
            items.append(data[start : token.start()])
            start = token.end()
    return [item for item in items if item.strip()]


def _load_items(data: bytes) -> list[Any]:
    """The file's products, each decoded, or `_Unreadable` where one cannot be (too deep, a NUL)."""
    if json_problem(data) is None:
        try:
            items = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"not valid JSON: {exc}") from None
        if isinstance(items, dict) and isinstance(items.get("products"), list):
            items = items["products"]
        if not isinstance(items, list):
            raise InvalidInput("expected a JSON list of products")
        return items
    loaded: list[Any] = []
    for raw in _elements(data):
        if (reason := json_problem(raw)) is not None:
            loaded.append(_Unreadable(reason))
            continue
        try:
            loaded.append(json.loads(raw))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            loaded.append(_Unreadable(f"not valid JSON: {exc}"))
    if not loaded:
        raise InvalidInput(f"not valid JSON: {json_problem(data)}")
    return loaded


def parse_json(data: bytes) -> tuple[list[_Pending], list[Problem]]:
    items = _load_items(data)
    pending, problems = [], []
    seen: dict[str, str] = {}
    for n, item in enumerate(items, start=1):
        label = f"product {n}" + (f" ({item.get('id')})" if isinstance(item, dict) and item.get("id") else "")
        if isinstance(item, _Unreadable):
            problems.append(Problem(label, item.reason))
            continue
        try:
            product = msgspec.convert(item, ImportedProduct)
        except msgspec.ValidationError as exc:
            problems.append(Problem(label, _friendly(exc)))
            continue
        if not product.id:
            problems.append(Problem(label, "id (the product handle) is required"))
            continue
        if product.id in seen:
            problems.append(Problem(label, f"id {product.id} already used by {seen[product.id]}"))
            continue
        seen[product.id] = label
        draft = msgspec.convert(
            {k: v for k, v in msgspec.structs.asdict(product).items() if k != "id"},
            ProductDraft,
            from_attributes=True,
        )
        pending.append(_Pending(product.id, label, draft))
    return pending, problems


# ---- CSV ---------------------------------------------------------------------------------------------------


def _int(value: str, column: str, *, required: bool) -> int | None:
    value = value.strip()
    if not value:
        if required:
            raise ValueError(f"{column} is required")
        return None
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{column} must be a whole number, got {value!r}") from None
    if number < 0:
        raise ValueError(f"{column} cannot be negative, got {value}")
    return number


def _options(row: dict[str, str]) -> dict[str, str]:
    options = {}
    if row["option_color"].strip():
        options["color"] = row["option_color"].strip()
    if row["option_size"].strip():
        options["size"] = row["option_size"].strip()
    for part in filter(None, (p.strip() for p in row["option_other"].split(";"))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"option_other must look like name=value, got {part!r}")
        options[key.strip()] = value.strip()
    return options


def parse_csv(data: bytes) -> tuple[list[_Pending], list[Problem]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the CSV file must be UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InvalidInput("the CSV file is empty") from None
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise InvalidInput(f"line 1: missing columns {', '.join(missing)}")

    problems: list[Problem] = []
    products: dict[str, _Pending] = {}
    sku_lines: dict[str, int] = {}
    for start, cells in _records(reader, problems):
        if not any(c.strip() for c in cells):
            continue
        where = f"line {start}"
        if any("\x00" in c for c in cells):
            problems.append(Problem(where, NUL_REFUSED))
            continue
        if len(cells) != len(header):
            problems.append(Problem(where, f"expected {len(header)} columns, found {len(cells)}"))
            continue
        row = dict(zip(header, cells, strict=True))
        try:
            variant, fields = _csv_row(row)
        except ValueError as exc:
            problems.append(Problem(where, str(exc)))
            continue
        if variant.sku in sku_lines:
            problems.append(
                Problem(where, f"SKU {variant.sku} already used on line {sku_lines[variant.sku]}")
            )
            continue
        handle = row["product_id"].strip()
        pending = products.get(handle)
        try:
            if pending is None:
                draft = msgspec.convert({**fields, "variants": [variant]}, ProductDraft)
                products[handle] = _Pending(handle, where, draft)
            else:
                pending.draft.variants.append(variant)
        except msgspec.ValidationError as exc:
            problems.append(Problem(where, _friendly(exc)))
            continue
        sku_lines[variant.sku] = start
    return list(products.values()), problems


def _records(reader: Any, problems: list[Problem]) -> Iterator[tuple[int, list[str]]]:
    """The reader's records with the line each starts on (a quoted field may span lines); one it cannot
    read (csv.Error) is reported by its line and skipped."""
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.append(Problem(f"line {start}", f"unreadable CSV: {exc}"))
            continue
        yield start, cells


def _csv_row(row: dict[str, str]) -> tuple[VariantDraft, dict[str, Any]]:
    handle = row["product_id"].strip()
    if not handle:
        raise ValueError("product_id is required")
    if re.match(HANDLE_PATTERN, handle) is None:
        raise ValueError(f"product_id {handle!r} may use only a-z, 0-9 and '-' (up to 64)")
    name = row["name"].strip()
    if not name:
        raise ValueError("name is required")
    if len(name) > 300:
        raise ValueError(f"name is {len(name)} characters long; the limit is 300")
    sku = row["sku"].strip()
    if not sku:
        raise ValueError("sku is required")
    price = _int(row["price_cents"], "price_cents", required=True)
    compare_at = _int(row["compare_at_cents"], "compare_at_cents", required=False)
    stock = _int(row["stock"], "stock", required=True)
    weight = _int(row["weight_grams"], "weight_grams", required=False)
    try:
        variant = msgspec.convert(
            {
                "sku": sku,
                "price_cents": price,
                "compare_at_cents": compare_at,
                "stock": stock,
                "weight_grams": weight or 0,
                "options": _options(row),
            },
            VariantDraft,
        )
    except msgspec.ValidationError as exc:
        raise ValueError(_friendly(exc)) from None
    if compare_at is not None and price is not None and compare_at <= price:
        raise ValueError(f"compare_at_cents ({compare_at}) must be above price_cents ({price})")
    fields = {
        "name": name,
        "brand": row["brand"].strip(),
        "description": row["description"].strip(),
        "category": row["category"].strip() or None,
        "subcategory": row["subcategory"].strip() or None,
        "tags": [t.strip() for t in row["tags"].split(";") if t.strip()],
    }
    return variant, fields


# ---- writing -----------------------------------------------------------------------------------------------


def detect_format(filename: str, data: bytes) -> str:
    name = filename.lower()
    if name.endswith(".json"):
        return "json"
    if name.endswith(".csv"):
        return "csv"
    return "json" if data.lstrip()[:1] in (b"[", b"{") else "csv"


async def import_catalog(
    session: AsyncSession,
    data: bytes,
    *,
    fmt: str,
    default_threshold: int,
    cache: CatalogCache | None = None,
    reference: str = "import",
) -> ImportReport:
    """Parse and write a whole file; commits the good products (in batches) and reports the rest."""
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    if fmt not in ("json", "csv"):
        raise InvalidInput("format must be json or csv", field="format")
    pending, problems = parse_json(data) if fmt == "json" else parse_csv(data)
    report = ImportReport(problems=problems)
    for n, item in enumerate(pending, start=1):
        if not item.draft.images:  # no photo: a picture drawn from the product itself
            item.draft.images = [generated_url(item.handle)]
        if n % COMMIT_EVERY == 0:
            await session.commit()  # short write transactions: SQLite's single writer is not held for long
        try:
            async with session.begin_nested():
                result = await save(
                    session, item.handle, item.draft, default_threshold=default_threshold, reference=reference
                )
        except DomainError as exc:
            report.problems.append(Problem(item.where, f"{item.handle}: {exc.message}"))
            continue
        except IntegrityError:
            report.problems.append(Problem(item.where, f"{item.handle}: changed by someone else meanwhile"))
            continue
        (report.created if result.created else report.updated).append(item.handle)
        report.variants += len(item.draft.variants)
    await session.commit()
    if cache is not None:
        await cache.invalidate()
    report.problems.sort(key=_order)
    return report


def _order(problem: Problem) -> tuple[int, str]:
    digits = "".join(ch for ch in problem.where.split("(")[0] if ch.isdigit())
    return (int(digits) if digits else 0, problem.where)
