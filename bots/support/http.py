"""Support bot door: preview a decision (staff), manage help articles (admin), read the help centre."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import Parameter
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from bots.support import knowledge, reports
from bots.support.bot import Shopper, SupportBot
from engage.http.guards import admin, identity_of, public, staff
from engage.http.pages import page, staff_page
from engage.platform.errors import InvalidInput
from engage.platform.identity import Role
from engage.services import Services


class PreviewIn(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class ArticleIn(msgspec.Struct, forbid_unknown_fields=True):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=100_000)]
    category: Annotated[str, msgspec.Meta(max_length=120)] = ""


class ArticleOut(msgspec.Struct):
    id: str
    title: str
    category: str
    body: str
    url: str
    updated_at: str


def _out(article: Any) -> ArticleOut:
    return ArticleOut(
        id=article.slug,
        title=article.title,
        category=article.category,
        body=article.body,
        url=f"/help/{article.slug}",
        updated_at=article.updated_at.isoformat(),
    )


def _bot(services: Services) -> SupportBot:
    return services.bots.bot


class BotController(Controller):
    path = "/api/bot"
    tags = ["support bot"]

    @post(
        "/preview", guards=[staff], status_code=200, summary="What the bot would answer (nothing is posted)"
    )
    async def preview(
        self, request: Request[Any, Any, Any], services: Services, db_session: AsyncSession, data: PreviewIn
    ) -> dict[str, Any]:
        ident = identity_of(request)
        decision = await _bot(services).decide(
            db_session, data.text, shopper=Shopper(ident.user_id, ident.name)
        )
        return decision.as_dict()

    @get("/report", guards=[staff], summary="The bot in chat: containment, handoff reasons, weak answers")
    async def report(
        self, db_session: AsyncSession, days: Annotated[int, Parameter(ge=1, le=365)] = 30
    ) -> dict[str, Any]:
        return await reports.bot_report(db_session, days=days)


class HelpArticleController(Controller):
    path = "/api/help/articles"
    tags = ["help centre"]

    @get("/", guards=[public], summary="Every help article")
    async def list_articles(self, db_session: AsyncSession) -> list[ArticleOut]:
        return [_out(a) for a in await knowledge.articles(db_session)]

    @get("/{slug:str}", guards=[public], summary="One help article")
    async def get_article(self, db_session: AsyncSession, slug: str) -> ArticleOut:
        return _out(await knowledge.article(db_session, slug))

    @put("/{slug:str}", guards=[admin], summary="Create or replace an article (its passages are re-embedded)")
    async def put_article(
        self, services: Services, db_session: AsyncSession, slug: str, data: ArticleIn
    ) -> ArticleOut:
        source = knowledge.validate(slug, data.title.strip(), data.category.strip(), data.body)
        article, _ = await knowledge.save_article(db_session, _bot(services).embedder.model_name, source)
        return _out(article)

    @delete("/{slug:str}", guards=[admin], status_code=204, summary="Delete an article")
    async def delete_article(self, db_session: AsyncSession, slug: str) -> None:
        await knowledge.delete_article(db_session, slug)


@post(
    "/api/help/import",
    guards=[admin],
    status_code=200,
    tags=["help centre"],
    summary="Import articles as markdown files",
)
async def import_articles(
    services: Services, db_session: AsyncSession, data: dict[str, str]
) -> dict[str, int]:
    """`{"file name": "markdown with front matter", ...}`; each article is created or replaced."""
    if not data or len(data) > 500:
        raise InvalidInput("send between 1 and 500 articles")
    sources = [knowledge.parse_article(text, origin=name) for name, text in data.items()]
    changed = 0
    for source in sources:
        _, did = await knowledge.save_article(db_session, _bot(services).embedder.model_name, source)
        changed += did
    return {"read": len(sources), "changed": changed}


@get("/help/{slug:str}", guards=[public], include_in_schema=False)
async def help_page(request: Request[Any, Any, Any], db_session: AsyncSession, slug: str) -> Template:
    from markdown_it import MarkdownIt

    article = await knowledge.article(db_session, slug)
    html = MarkdownIt("commonmark", {"html": False}).enable("table").render(article.body)
    return page(request, "help/article.html", article=article, html=html)


@get("/console/bot", guards=[public], include_in_schema=False)
async def bot_console_page(request: Request[Any, Any, Any]) -> Any:
    """Agents and admins try the bot (nothing is posted) and see how it does in chat."""
    return staff_page(request, "console/bot.html", (Role.agent,))


bot_routes = [BotController, HelpArticleController, import_articles, help_page, bot_console_page]
