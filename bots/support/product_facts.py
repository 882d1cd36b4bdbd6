"""Questions about a product ("is the parka warm enough for -20C?", "does the kettle switch itself off?"),
answered from what the catalog says of it: its attributes and the sentences of its description, the ones
nearest the question by meaning, with the product linked. When none is near, the bot says the catalog does
not tell rather than guess."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from bots.embeddings import Embedder
from bots.support.stock import QUESTION_WORDS, Finder, product_query
from commerce.catalog import ProductView, product_view

# how near (cosine) a fact must be to the question to answer with it, and how close to the best the others
FACT_FLOOR = 0.45
FACT_SPREAD = 0.06
MOST_FACTS = 2

_QUESTION = re.compile(
    r"\?|^\s*(?:is|are|does|do|can|could|will|would|should|how|what|which|has|have)\b", re.I
)
# name words too common to say which product is meant
_GENERIC = frozenset("set pack kit pro plus mini max one new classic original edition".split())

_UNITS = {
    "c": "°C",
    "f": "°F",
    "g": "g",
    "kg": "kg",
    "lb": "lb",
    "oz": "oz",
    "cm": "cm",
    "mm": "mm",
    "m": "m",
    "in": "in",
    "ft": "ft",
    "l": "litres",
    "ml": "ml",
    "w": "W",
    "mah": "mAh",
    "db": "dB",
    "pct": "%",
    "hours": "hours",
    "min": "minutes",
    "days": "days",
    "weeks": "weeks",
    "months": "months",
    "years": "years",
}


@dataclass(frozen=True)
class ProductAnswer:
    answer: str
    confidence: float
    handle: str


def asks_a_question(text: str) -> bool:
    return bool(_QUESTION.search(text))


def _fact(key: str, value: Any) -> str:
    words = key.split("_")
    unit = _UNITS.get(words[-1]) if len(words) > 1 else None
    name = " ".join(words[:-1] if unit else words).capitalize()
    if isinstance(value, bool):
        shown = "yes" if value else "no"
    elif isinstance(value, list):
        shown = ", ".join(str(v) for v in value)
    else:
        shown = str(value)
    return f"{name}: {shown}{' ' + unit if unit else ''}"


def facts_of(product: ProductView) -> list[str]:
    """What the catalog says of a product, one fact per attribute and per sentence of its description."""
    facts = [_fact(key, value) for key, value in product.attributes.items()]
    facts += [s.strip() for s in re.split(r"(?<=[.!?])\s+", product.description) if len(s.strip()) > 3]
    return facts


def _named(product: ProductView, text: str) -> bool:
    """The text names the product: a distinctive word of its name or brand."""
    said = {w.lower() for w in re.findall(r"[\w'-]+", text)}
    name = {w.lower() for w in re.findall(r"[\w'-]+", f"{product.name} {product.brand}")}
    return bool((said & name) - QUESTION_WORDS - _GENERIC)


async def find(session: AsyncSession, finder: Finder, text: str, *, currency: str) -> ProductView | None:
    """The product a question names, if it names one."""
    query = product_query(text)
    handles = await finder(session, query) if query else []
    product = await product_view(session, handles[0], currency=currency) if handles else None
    return product if product is not None and _named(product, text) else None


async def answer(embedder: Embedder, product: ProductView, question: str) -> ProductAnswer:
    link = f"/products/{product.handle}"
    facts = facts_of(product)
    if facts:
        asked = await embedder.embed_query(question)
        scores = (await embedder.embed(facts)) @ asked
        best = float(np.max(scores))
    else:
        scores, best = np.zeros(0), 0.0
    if best < FACT_FLOOR:
        return ProductAnswer(
            f"Our catalog doesn't say that about the {product.name}, and I'd rather not guess. Its page has "
            f"everything we know: {link}. If you'd like, a person from our team can find out for you.",
            best,
            product.handle,
        )
    chosen = [i for i in np.argsort(-scores)[:MOST_FACTS] if scores[i] >= best - FACT_SPREAD]
    said = " ".join(facts[i].rstrip(".") + "." for i in sorted(chosen))
    return ProductAnswer(
        f"About the {product.name}, our catalog says: {said} More on its page: {link}", best, product.handle
    )
