"""The `engage` command: serve, worker, db, demo, user (and the commands each domain adds)."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import BinaryIO

import click

from engage.config import Settings, get_settings


def _settings() -> Settings:
    return get_settings()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Engage: real-time engagement and support for online shops."""


@cli.command()
@click.option("--host", default=None, help="Interface to bind (default ENGAGE_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default ENGAGE_PORT or 8000).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Web processes.")
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Serve the storefront, consoles, API and WebSockets."""
    import uvicorn

    settings = _settings()
    if workers > 1 and settings.embedded:
        raise click.UsageError(
            "embedded mode keeps channels and jobs in one process; set ENGAGE_REDIS_URL (and a PostgreSQL "
            "ENGAGE_DATABASE_URL) to run several workers"
        )
    if settings.should_auto_migrate:
        asyncio.run(_prepare(settings))
    uvicorn.run(
        "engage.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=settings.access_log,
        # frames are small JSON; a deflate context pair costs ~45 KB per socket and a compression per socket
        # of every fanned-out event
        ws_per_message_deflate=False,
        proxy_headers=settings.behind_tls,
        # the transport's hard limit; frames between ENGAGE_WS_MAX_FRAME_BYTES and this get an error frame
        ws_max_size=max(4 * settings.ws_max_frame_bytes, 64 * 1024),
        ws_ping_interval=settings.ws_heartbeat_seconds,
        ws_ping_timeout=settings.ws_heartbeat_seconds,
        timeout_keep_alive=settings.http_keep_alive_seconds,
        lifespan="on",
    )


async def _prepare(settings: Settings) -> None:
    """Embedded start: bring the database to head and seed demo data on first run."""
    from engage import demo
    from engage.platform.migrations import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await upgrade(settings.db_url)
    if settings.should_seed_demo:
        await demo.seed(settings, announce=click.echo, only_if_empty=True)


@cli.command()
def worker() -> None:
    """Run the arq worker (production mode: needs ENGAGE_REDIS_URL)."""
    from workers.settings import run_worker_forever

    settings = _settings()
    if settings.embedded:
        raise click.UsageError(
            "the worker needs ENGAGE_REDIS_URL; embedded mode runs jobs inside `engage serve`"
        )
    try:  # the event loop the web server has too (uvicorn[standard]): push sending is I/O-bound
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    run_worker_forever(settings)


@cli.group()
def db() -> None:
    """Database migrations (Alembic)."""


@db.command("upgrade")
@click.argument("revision", default="heads")
def db_upgrade(revision: str) -> None:
    """Migrate the database to the newest schema."""
    from engage.platform.migrations import upgrade

    settings = _settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(upgrade(settings.db_url, revision))
    click.echo("database is at head")


@db.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree."""
    from engage.platform.migrations import check

    asyncio.run(check(_settings().db_url))
    click.echo("no changes: models and migrations agree")


@cli.command()
def demo() -> None:
    """Load demo data (idempotent): catalog, help articles, a flash sale, one user per role."""
    from engage import demo as demo_data

    asyncio.run(demo_data.seed(_settings(), announce=click.echo))


@cli.group()
def catalog() -> None:
    """The product catalog."""


@catalog.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option(
    "--format", "fmt", type=click.Choice(["auto", "json", "csv"]), default="auto", show_default=True
)
def catalog_import(file: str, fmt: str) -> None:
    """Import products from a JSON or CSV file; bad rows are reported by line, good rows land."""
    from pathlib import Path

    from bots.wiring import leave_indexing_to_server
    from commerce.catalog import ImportReport, detect_format, import_catalog
    from engage.platform.errors import DomainError
    from engage.wiring import build

    settings = _settings()
    data = Path(file).read_bytes()

    async def run() -> ImportReport:
        services = build(settings, run_cron=False)
        leave_indexing_to_server(services.bots)  # search indexes the products in the server or worker
        await services.start()
        try:
            async with services.sessionmaker() as session:
                return await import_catalog(
                    session,
                    data,
                    fmt=detect_format(file, data) if fmt == "auto" else fmt,
                    default_threshold=settings.low_stock_threshold,
                    cache=services.catalog_cache,
                    reference=f"import:{Path(file).name}"[:120],
                )
        finally:
            await services.stop()

    try:
        report = asyncio.run(run())
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    for line in report.lines():
        click.echo(line)
    if not report.ok:
        sys.exit(1)


@cli.group()
def user() -> None:
    """Accounts."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice(["customer", "agent", "marketer", "admin"]), default="customer")
@click.option("--name", default="")
def user_create(email: str, password: str, role: str, name: str) -> None:
    """Create an account of any role."""
    from engage.auth import service
    from engage.platform.db import make_engine, make_sessionmaker
    from engage.platform.errors import DomainError
    from engage.platform.identity import Role

    async def run() -> None:
        engine = make_engine(_settings().db_url)
        try:
            async with make_sessionmaker(engine)() as session:
                user = await service.create_user(
                    session, email=email, password=password, role=Role(role), name=name
                )
                click.echo(f"created {user.role} {user.email} (id {user.id})")
        finally:
            await engine.dispose()

    try:
        asyncio.run(run())
    except DomainError as exc:
        raise click.ClickException(exc.message) from None


def _register_domain_commands() -> None:
    from bots.cli import register as register_bots
    from engage.push.cli import register as register_push

    register_bots(cli)
    register_push(cli)


_register_domain_commands()


@cli.group()
def chat() -> None:
    """Live chat."""


@chat.command("purge")
@click.option("--days", type=click.IntRange(1), default=None, help="Default: ENGAGE_CHAT_RETENTION_DAYS.")
@click.option(
    "--export",
    "export_path",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="JSON Lines file the conversations are written to before they are deleted (appended to).",
)
@click.option("--dry-run", is_flag=True, help="Export only; delete nothing.")
def chat_purge(days: int | None, export_path: str, dry_run: bool) -> None:
    """Export, then delete, conversations with no activity for the retention period."""
    from engage.chat import retention
    from engage.wiring import build

    settings = _settings()

    async def run(out: BinaryIO) -> retention.PurgeReport:
        async def write(data: bytes) -> None:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())  # on disk before the rows it holds are deleted

        services = build(settings, run_cron=False)
        await services.start()
        try:
            return await retention.export_and_purge(
                services.sessionmaker,
                services.chat.blobs,
                retention_days=days or settings.chat_retention_days,
                write=write,
                dry_run=dry_run,
            )
        finally:
            await services.stop()

    with open(export_path, "ab") as out:
        report = asyncio.run(run(out))
    verb = "exported (dry run)" if dry_run else "exported and purged"
    click.echo(
        f"{verb} {report.conversations} conversations ({report.messages} messages, "
        f"{report.attachments} attachments) inactive since {report.cutoff:%Y-%m-%d %H:%M} UTC to {export_path}"
    )


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        cli(prog_name="engage")
    except SystemExit as exc:
        if isinstance(exc.code, str):
            click.echo(exc.code, err=True)
            sys.exit(2)
        raise


if __name__ == "__main__":
    main()
