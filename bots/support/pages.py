"""The help centre's listing page (`/help`): every help article by category, with a filter. Articles are read
at `/help/{slug}` (bots/support/http.py), their markdown rendered with raw HTML off."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from litestar import Request, get
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from bots.support import knowledge
from engage.http.guards import public
from engage.http.pages import page

EXCERPT_CHARS = 160


def _excerpt(body: str) -> str:
    text = " ".join(knowledge.plain(body).split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1].rsplit(" ", 1)[0] + "…"


@get("/help", guards=[public], include_in_schema=False)
async def help_index(request: Request[Any, Any, Any], db_session: AsyncSession, q: str = "") -> Template:
    """Read only: the articles as stored; `q` keeps those whose title, category or text hold every word."""
    words = q.lower().split()[:10]
    found = []
    for article in await knowledge.articles(db_session):
        text = f"{article.title} {article.category} {knowledge.plain(article.body)}".lower()
        if all(word in text for word in words):
            found.append(
                {
                    "slug": article.slug,
                    "title": article.title,
                    "excerpt": _excerpt(article.body),
                    "category": article.category or "General",
                }
            )
    sections = [(name, list(items)) for name, items in groupby(found, key=lambda a: a["category"])]
    return page(request, "help/index.html", q=q.strip()[:200], sections=sections, count=len(found))


help_pages = [help_index]
