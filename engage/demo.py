"""Demo data for a shop that runs out of the box: idempotent, safe to run again."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.auth import service as accounts
from engage.config import Settings
from engage.platform.identity import Role
from engage.services import Services

DATA = Path(__file__).resolve().parent / "demo_data"

DEMO_USERS = [
    ("admin@engage.local", Role.admin, "Ada Admin"),
    ("agent@engage.local", Role.agent, "Sam Support"),
    ("agent2@engage.local", Role.agent, "Riley Support"),
    ("marketer@engage.local", Role.marketer, "Mo Marketing"),
    ("shopper@engage.local", Role.customer, "Casey Shopper"),
]

Announce = Callable[[str], None]
# Each domain's demo step: (services, session, announce) -> None, idempotent.
Seeder = Callable[[Services, AsyncSession, Announce], Awaitable[None]]


async def seed_users(services: Services, session: AsyncSession, announce: Announce) -> None:
    created = []
    for email, role, name in DEMO_USERS:
        if await accounts.find_user(session, email) is not None:
            continue
        password = secrets.token_urlsafe(9)
        await accounts.create_user(session, email=email, password=password, role=role, name=name)
        created.append((role.value, email, password))
    if created:
        announce("demo accounts (passwords are shown only now):")
        for role_name, email, password in created:
            announce(f"  {role_name:9} {email:24} {password}")


async def seed_catalog(services: Services, session: AsyncSession, announce: Announce) -> None:
    """The Luxia demo catalog with its stock; skipped once products exist (re-import with `engage catalog`)."""
    from commerce.catalog import Product, import_catalog

    if await session.scalar(select(Product.id).limit(1)) is not None:
        return
    report = await import_catalog(
        session,
        (DATA / "products.json").read_bytes(),
        fmt="json",
        default_threshold=services.settings.low_stock_threshold,
        cache=services.catalog_cache,
        reference="demo",
    )
    announce(report.lines()[0])


async def seed_help(services: Services, session: AsyncSession, announce: Announce) -> None:
    """The help centre (the support bot's knowledge base); existing articles are kept as edited."""
    from bots.support.knowledge import import_directory

    read, changed = await import_directory(
        session, services.settings.embedding_model, DATA / "help", overwrite=False
    )
    if changed:
        announce(f"help centre: {changed} of {read} articles imported")


async def seed_chat(services: Services, session: AsyncSession, announce: Announce) -> None:
    """Canned responses for the agent console (type / in a reply)."""
    from engage.chat.canned import seed_examples

    if added := await seed_examples(session):
        announce(f"chat: {added} canned responses")


async def seed_flash_sale(services: Services, session: AsyncSession, announce: Announce) -> None:
    """A flash sale on a couple of demo products, starting a few minutes from now and lasting an hour,
    so the storefront shows a live countdown; none is planned while an earlier demo sale is not over."""
    from engage.flash_sales.demo import seed_demo_sale

    marketer = await accounts.find_user(session, "marketer@engage.local")
    sale = await seed_demo_sale(session, author_id=marketer.id if marketer else None)
    if sale is not None:
        announce(f"flash sale: {sale.name!r} starts at {sale.starts_at:%H:%M} UTC and lasts an hour")


def seeders() -> list[Seeder]:
    return [seed_users, seed_catalog, seed_help, seed_chat, seed_flash_sale]


async def is_empty(session: AsyncSession) -> bool:
    return await accounts.count_users(session) == 0


async def seed(settings: Settings, *, announce: Announce = print, only_if_empty: bool = False) -> None:
    from bots.wiring import leave_indexing_to_server
    from engage.wiring import build

    services = build(settings, run_cron=False)
    leave_indexing_to_server(services.bots)  # the server embeds the shop in the background: it starts at once
    await services.start()
    try:
        async with services.sessionmaker() as session:
            if only_if_empty and not await is_empty(session):
                return
            for step in seeders():
                await step(services, session, announce)
        await services.runtime.publisher.drain()
        join = getattr(services.runtime.jobs, "join", None)
        if join is not None:
            await join()
    finally:
        await services.stop()
