"""The bots' commands: `engage reindex`, `engage eval search|bot`, `engage help import`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, get_args

import click

from bots import draining
from bots.search import backlog
from bots.search.indexing import IndexReport
from engage.config import get_settings
from engage.services import Services

EVAL_DATA = Path(__file__).resolve().parent / "evaluation" / "data"


@asynccontextmanager
async def _services() -> AsyncIterator[Services]:
    from engage.wiring import build

    services = build(get_settings(), run_cron=False)
    await services.start()
    try:
        yield services
        await services.runtime.publisher.drain()
        join = getattr(services.runtime.jobs, "join", None)
        if join is not None:
            await join()
    finally:
        await services.stop()


async def _drain_here(
    services: Services, lease: str, run: Callable[[str], Awaitable[Any]], *, waiting: Any
) -> None:
    """Drain a backlog in this process; if another process holds its lease, wait until it is done."""
    told = False
    while True:
        holder = draining.new_holder()
        async with services.sessionmaker() as session:
            taken = await draining.take(session, lease, holder)
            more = taken or await waiting(session)
            await session.commit()
        if taken:
            await run(holder)
            return
        if not more:
            return
        if not told:
            click.echo("another process is indexing; waiting for it to finish", err=True)
            told = True
        await asyncio.sleep(1)


async def catch_up(
    services: Services, *, force: bool = False, show: bool = True
) -> tuple[IndexReport, int, float]:
    """Bring the search index and the help passages up to date here (products indexed, passages, seconds)."""
    from bots.search.indexing import drain_backlog, reconcile
    from bots.support import knowledge
    from workers.bot import embed_help_passages

    search = services.bots.search
    model = search.embedder.model_name
    async with services.sessionmaker() as session:
        if force:
            await knowledge.forget_vectors(session)
        marked = await reconcile(session, model, force=force)
        marked = max(marked, await backlog.size(session))
        await session.commit()
    await search.embedder.loaded()  # the throughput below is the model's, not its loading
    started = time.perf_counter()
    report = IndexReport()
    bar = click.progressbar(length=marked, label="indexing products") if show and marked else None

    async def products(holder: str) -> None:
        report.add(
            await drain_backlog(
                services.sessionmaker,
                search.embedder,
                search.lexicon,
                holder,
                progress=(lambda r: bar.update(r.seen + r.removed)) if bar is not None else None,
            )
        )

    with bar if bar is not None else contextlib.nullcontext():
        await _drain_here(services, backlog.LEASE, products, waiting=backlog.waiting)
    elapsed = time.perf_counter() - started
    passages = 0

    async def help_passages(holder: str) -> None:
        nonlocal passages
        passages = await embed_help_passages({"services": services}, holder)

    async def passages_waiting(session: Any) -> bool:
        return await knowledge.passages_waiting(session, model)

    await _drain_here(services, knowledge.LEASE, help_passages, waiting=passages_waiting)
    return report, passages, elapsed


@click.command()
@click.option("--force", is_flag=True, help="Embed every product and help passage again, changed or not.")
def reindex(force: bool) -> None:
    """Bring the search index and the bot's knowledge base up to date now, in this process.

    Products whose text changed (or that were never indexed) are embedded and indexed in batches; so are
    help passages without a vector. A running server or worker would do the same in the background.
    """

    async def run() -> None:
        async with _services() as services:
            report, passages, elapsed = await catch_up(services, force=force)
        rate = report.embedded / elapsed if elapsed > 0 and report.embedded else 0.0
        click.echo(
            f"{report.seen} products: {report.embedded} embedded, {report.documents_written} documents written, "
            f"{report.removed} removed in {elapsed:.1f} s ({rate:.1f} products/s embedded); "
            f"{passages} help passages embedded"
        )

    asyncio.run(run())


@click.group(name="eval")
def eval_group() -> None:
    """Measure search and the support bot on an evaluation set."""


@eval_group.command("search")
@click.option(
    "--queries",
    "path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=EVAL_DATA / "search_queries.json",
    show_default=True,
)
@click.option(
    "--url", default=None, help="Evaluate the hybrid ranking of a running server's HTTP API instead."
)
@click.option(
    "--scores-only",
    is_flag=True,
    help="Print the score tables only, no query text (for a held-out set nobody should read).",
)
def eval_search(path: Path, url: str | None, scores_only: bool) -> None:
    """nDCG@10, recall@10 and MRR per leg (lexical, semantic, hybrid) and per query kind."""
    from bots.evaluation.search_eval import evaluate, load_cases
    from bots.search.ranking import Leg

    cases = load_cases(path)

    async def run() -> None:
        if url:
            import httpx

            async with httpx.AsyncClient(base_url=url, timeout=30) as http:

                async def over_http(q: str, leg: str) -> list[str]:
                    res = await http.get("/api/search", params={"q": q, "limit": 10})
                    res.raise_for_status()
                    return [item["handle"] for item in res.json()["items"]]

                result = await evaluate(cases, over_http, legs=("hybrid",))
            click.echo(result.report(details=not scores_only))
            return
        async with _services() as services:
            await catch_up(services, show=False)
            search = services.bots.search
            async with services.sessionmaker() as session:
                await search.index.ensure_loaded(session)
                if not search.index.published_count:
                    raise click.ClickException(
                        "the search index is empty: import the catalog first (`engage catalog import`)"
                    )

                legs: dict[str, Leg] = {leg: leg for leg in get_args(Leg)}

                async def in_process(q: str, leg: str) -> list[str]:
                    _, ranked = await search.rank(session, q, leg=legs[leg])
                    return [c.card.handle for c in ranked]

                result = await evaluate(cases, in_process)
        click.echo(result.report(details=not scores_only))

    asyncio.run(run())


@eval_group.command("bot")
@click.option(
    "--questions",
    "path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=EVAL_DATA / "bot_questions.json",
    show_default=True,
)
@click.option(
    "--by-words",
    is_flag=True,
    help="Measure the warm-up fallback: retrieval by words, as before the passages are embedded.",
)
@click.option(
    "--scores-only",
    is_flag=True,
    help="Print the accuracy tables only, no question text (for a held-out set nobody should read).",
)
def eval_bot(path: Path, by_words: bool, scores_only: bool) -> None:
    """Top-1 accuracy of the bot's decision per expected type (article, intents, none) and its confusions.

    With --by-words a question the bot hands over counts as "none" (it gave no answer)."""
    from bots.evaluation.bot_eval import evaluate, load_cases

    cases = load_cases(path)

    async def run() -> None:
        async with _services() as services:
            await catch_up(services, show=False)
            bot = services.bots.bot
            async with services.sessionmaker() as session:
                await bot.knowledge.ensure_loaded(session)
                if not bot.knowledge.passages:
                    raise click.ClickException("the knowledge base is empty: run `engage help import` first")
                await bot.warm_up()  # the intent examples, as a server has them a few seconds after start

                async def decide(text: str) -> tuple[str, str | None, float]:
                    d = await bot.decide(session, text, use_llm=False, by_words=by_words or None)
                    if d.kind == "article":
                        return "article", d.article_id, d.confidence
                    if d.kind == "intent":
                        return "intent", d.intent, d.confidence
                    return "none", None, d.confidence

                result = await evaluate(cases, decide)
        click.echo(result.report(details=not scores_only))

    asyncio.run(run())


@click.group(name="help")
def help_group() -> None:
    """The help centre (the support bot's knowledge base)."""


@help_group.command("import")
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--keep-existing", is_flag=True, help="Leave articles that already exist as they are.")
def help_import(directory: Path | None, keep_existing: bool) -> None:
    """Import help articles (markdown with id/title/category front matter).

    New or changed passages are embedded by the server or worker (or at once by `engage reindex`).
    """
    from bots.support.knowledge import import_directory
    from bots.wiring import leave_indexing_to_server
    from engage.demo import DATA

    async def run() -> None:
        async with _services() as services:
            leave_indexing_to_server(services.bots)
            async with services.sessionmaker() as session:
                read, changed = await import_directory(
                    session,
                    services.settings.embedding_model,
                    directory or DATA / "help",
                    overwrite=not keep_existing,
                )
        click.echo(f"{read} articles read, {changed} created or changed")

    from engage.platform.errors import DomainError

    try:
        asyncio.run(run())
    except DomainError as exc:
        raise click.ClickException(exc.message) from None


def register(cli: click.Group) -> None:
    cli.add_command(reindex)
    cli.add_command(eval_group)
    cli.add_command(help_group)
