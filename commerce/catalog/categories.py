"""The category tree: found or made by name path, listed, and expanded to a subtree for filters."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.models import Category


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:120] or "category"


@dataclass
class CategoryNode:
    id: int
    slug: str
    name: str
    parent_id: int | None
    children: list[CategoryNode] = field(default_factory=list)


async def ensure_path(session: AsyncSession, names: list[str]) -> Category | None:
    """The category at `names` (e.g. ["Audio & Headphones", "Earbuds"]), made if missing. Does not commit."""
    parent: Category | None = None
    for name in (n.strip() for n in names):
        if not name:
            break
        slug = slugify(name) if parent is None else f"{parent.slug}--{slugify(name)}"[:120]
        category = await session.scalar(select(Category).where(Category.slug == slug))
        if category is None:
            category = Category(slug=slug, name=name, parent_id=parent.id if parent else None)
            session.add(category)
            await session.flush()
        parent = category
    return parent


async def tree(session: AsyncSession) -> list[CategoryNode]:
    rows = (await session.scalars(select(Category).order_by(Category.position, Category.name))).all()
    nodes = {c.id: CategoryNode(c.id, c.slug, c.name, c.parent_id) for c in rows}
    roots: list[CategoryNode] = []
    for node in nodes.values():
        parent = nodes.get(node.parent_id) if node.parent_id is not None else None
        (parent.children if parent else roots).append(node)
    return roots


def subtree_ids(roots: list[CategoryNode], slug: str) -> list[int] | None:
    """Ids of the category called `slug` and everything below it; None if there is no such category."""

    def find(nodes: list[CategoryNode]) -> CategoryNode | None:
        for node in nodes:
            if node.slug == slug:
                return node
            if (hit := find(node.children)) is not None:
                return hit
        return None

    start = find(roots)
    if start is None:
        return None
    ids, stack = [], [start]
    while stack:
        node = stack.pop()
        ids.append(node.id)
        stack.extend(node.children)
    return ids


def path_of(roots: list[CategoryNode], category_id: int | None) -> list[CategoryNode]:
    """Root-to-leaf path to a category (breadcrumbs)."""

    def walk(nodes: list[CategoryNode], trail: list[CategoryNode]) -> list[CategoryNode] | None:
        for node in nodes:
            if node.id == category_id:
                return [*trail, node]
            if (hit := walk(node.children, [*trail, node])) is not None:
                return hit
        return None

    return (walk(roots, []) or []) if category_id is not None else []
