""" "Is the blue parka in stock in M?", "tell me when the blue M is back": answered from the catalog and live
stock, never from guesses; a sold-out variant comes with the offer to be told when it is back, which a
signed-in shopper takes with a "yes" in the chat (a guest is sent to the product page's "Notify me", which
asks for an email)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.search import content_words
from commerce import inventory
from commerce.catalog import Product, ProductView, Variant, VariantView, product_view
from engage.alerts import sign_up
from engage.auth import User
from engage.platform.errors import Conflict
from engage.platform.identity import Identity, Role

_ASKS = re.compile(
    r"\b(?:in\s+stock|back\s+in\s+stock|out\s+of\s+stock|sold\s+out|restock\w*|re-stock\w*|availab\w+|"
    r"(?:be|is|are|come|comes|coming)\s+back|back\s+(?:soon|again)|notify\s+me|let\s+me\s+know\s+when|"
    r"tell\s+me\s+when|(?:e-?mail|message|ping)\s+me\s+when|do\s+you\s+(?:have|sell|carry|stock)|"
    r"(?:have|got)\s+(?:it|any|this|these|them)\s+in)\b",
    re.I,
)
# words of a question (about stock or about a product) that say nothing about which product
QUESTION_WORDS = frozenset(
    """stock restock restocked restocking available availability back soon again notify tell know let email
    message ping sold out have sell carry got any when will is are do does you your me it this these them
    please thanks hi hello size colour color one can could would should how what which has its that the a
    an enough good ok okay fine work works for with in on of to my i about much many long big small warm
    cold""".split()
)
NOT_FOUND = (
    "I couldn't tell which product you mean. Could you give me its name (as on the product page), or search "
    "the shop at /search?"
)
NOTIFY_REPLIES = ["Yes, tell me when it's back", "No thanks"]
Finder = Callable[[AsyncSession, str], Awaitable[list[str]]]  # product handles for a text, best first


# About how alerts and restocks work, not about a product's stock now: "is there a way to be told when...",
# "do those alerts expire?"; the help centre answers ("Back-in-stock alerts").
_HOW_ALERTS_WORK = re.compile(
    r"\b(?:alerts?|notifications?|(?:is|are)\s+there\s+(?:a|any)\s+way|any\s+way|how\s+(?:do|does|can|would)\b)",
    re.I,
)
# The shopper says it is sold out already ("the grey XL is sold out, when will you have more?"): the shelf
# tells them nothing new, the help centre says how restocks and alerts work; unless they ask to be told.
_SAYS_SOLD_OUT = re.compile(
    r"\b(?:is|are|was|were|it's|its|they're|got|went)\s+(?:all\s+)?(?:sold\s+out|out\s+of\s+stock)\b", re.I
)
_TELL_ME = re.compile(
    r"\b(?:notify\s+me|let\s+me\s+know|tell\s+me|(?:e-?mail|message|ping|text)\s+me|sign\s+me\s+up)\b", re.I
)


def asks_about_stock(text: str) -> bool:
    if not _ASKS.search(text) or _HOW_ALERTS_WORK.search(text):
        return False
    return not _SAYS_SOLD_OUT.search(text) or bool(_TELL_ME.search(text))


@dataclass(frozen=True)
class StockReply:
    answer: str
    variant_id: int | None = None  # sold out: the variant the shopper may be told about
    handle: str | None = None


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[\w'-]+", text)}


def _label(variant: VariantView) -> str:
    return " / ".join(str(v) for v in variant.options.values())


def _chosen(product: ProductView, text: str) -> VariantView | None:
    """The variant whose option values the text names (all of one, most words), or the only one."""
    if len(product.variants) == 1:
        return product.variants[0]
    said = _words(text)
    best, best_hits = None, 0
    for variant in product.variants:
        values = [_words(str(v)) for v in variant.options.values()]
        hits = sum(1 for v in values if v and v <= said)
        if hits > best_hits:
            best, best_hits = variant, hits
        elif hits == best_hits:
            best = None if hits else best
    return best


def product_query(text: str) -> str:
    """The words of a question that may name a product."""
    return " ".join(w for w in content_words(text) if w not in QUESTION_WORDS)


async def answer(session: AsyncSession, find: Finder, text: str, *, currency: str) -> StockReply:
    query = product_query(text)
    handles = await find(session, query) if query else []
    product = await product_view(session, handles[0], currency=currency) if handles else None
    if product is None or not product.variants:
        return StockReply(NOT_FOUND)
    levels = await inventory.levels(session, [v.id for v in product.variants])
    left = {v.id: levels[v.id].available if v.id in levels else 0 for v in product.variants}
    link = f"/products/{product.handle}"
    variant = _chosen(product, text)
    if variant is None:
        stocked = [_label(v) for v in product.variants if left[v.id] > 0]
        gone = [_label(v) for v in product.variants if left[v.id] <= 0]
        parts = [f"{product.name}:"]
        parts.append(f"in stock in {', '.join(stocked)}" if stocked else "sold out in every option right now")
        if stocked and gone:
            parts.append(f"; sold out in {', '.join(gone)}")
        return StockReply(f"{' '.join(parts[:2])}{''.join(parts[2:])}. Which one do you mean? {link}")
    name = f"{product.name} ({_label(variant)})" if _label(variant) else product.name
    if left[variant.id] > 0:
        return StockReply(f"Yes: {name} is in stock ({left[variant.id]} left). {link}?variant={variant.id}")
    return StockReply(
        f"{name} is sold out right now. Shall I tell you as soon as it's back?",
        variant_id=variant.id,
        handle=product.handle,
    )


async def notify(session: AsyncSession, user_id: int | None, variant_id: int) -> str:
    """The shopper said yes to being told: a signed-in one is signed up; a guest gets the product page."""
    handle = await session.scalar(
        select(Product.handle).join(Variant, Variant.product_id == Product.id).where(Variant.id == variant_id)
    )
    if handle is None:
        return NOT_FOUND
    if user_id is None:
        return (
            f"Please tap \u201cNotify me\u201d on the product page and leave your email there: "
            f"/products/{handle}?variant={variant_id}"
        )
    user = await session.get(User, user_id)
    ident = Identity(user_id, Role.customer, email=user.email if user else None)
    try:
        await sign_up(session, ident, variant_id)
    except Conflict:
        return f"Good news: it's back in stock already. /products/{handle}?variant={variant_id}"
    return "Done: I'll let you know as soon as it's back (by push on your devices, or by email)."
