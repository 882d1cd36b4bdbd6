"""Test-only: the demo catalog written straight through the catalog models (commerce owns the importer)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.models import Category, Product, Variant
from engage.demo import DATA

CATALOG = DATA / "products.json"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


async def load_catalog(session: AsyncSession, path: Path = CATALOG, *, suffix: str = "") -> list[Product]:
    """Add the catalog's products (handles get `suffix`); categories are shared. Returns the new products."""
    categories = {c.slug: c for c in (await session.scalars(select(Category))).all()}

    async def category(name: str, parent: Category | None) -> Category:
        slug = _slug(name) if parent is None else f"{parent.slug}--{_slug(name)}"
        if slug not in categories:
            categories[slug] = Category(slug=slug, name=name, parent_id=parent.id if parent else None)
            session.add(categories[slug])
            await session.flush()
        return categories[slug]

    items = json.loads(await asyncio.to_thread(path.read_text))
    products = []
    for position, item in enumerate(items):
        top = await category(item["category"], None)
        sub = await category(item["subcategory"], top) if item.get("subcategory") else top
        product = Product(
            handle=item["id"] + suffix,
            name=item["name"],
            brand=item.get("brand", ""),
            description=item.get("description", ""),
            category_id=sub.id,
            tags=item.get("tags", []),
            attributes=item.get("attributes", {}),
            popularity=len(item.get("variants", [])) * 10 + position % 7,
            variants=[
                Variant(
                    sku=v["sku"] + suffix,
                    options=v.get("options", {}),
                    price_cents=v["price_cents"],
                    compare_at_cents=v.get("compare_at_cents"),
                    weight_grams=v.get("weight_grams", 0),
                    position=i,
                )
                for i, v in enumerate(item.get("variants", []))
            ],
        )
        session.add(product)
        products.append(product)
    await session.commit()
    return products
