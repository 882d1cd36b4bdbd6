"""PostgreSQL dropping every connection under the node (what a restart or a failover does to its clients):
the next requests find new connections, none answers 5xx, and what they write is kept."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from engage.platform.identity import Role
from tests.commerce.conftest import Shopper, make_product


async def _drop_every_connection(database_url: str) -> int:
    engine = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            return len(
                (
                    await conn.execute(
                        text(
                            # waits until each backend has exited, as a restart has before clients
                            # can connect again
                            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        )
                    )
                ).all()
            )
    finally:
        await engine.dispose()


async def test_requests_after_every_database_connection_was_dropped_succeed(
    client, settings, make_account
) -> None:  # type: ignore[no-untyped-def]
    async with client.app.state.runtime.sessionmaker() as session:
        product = await make_product(session, stock=10, price=1500)
    staff = await make_account(Role.admin)
    for _ in range(3):  # the pool holds connections that have served requests
        assert (await client.get("/api/products")).status_code == 200
        assert (await client.get("/api/auth/me", headers=staff.headers)).status_code == 200

    assert await _drop_every_connection(settings.db_url) > 0
    answers = [
        await client.get("/api/products"),
        await client.get(f"/api/products/{product.handle}"),
        await client.get("/api/auth/me", headers=staff.headers),
    ]
    assert [r.status_code for r in answers] == [200, 200, 200], [r.text for r in answers]

    shopper = await Shopper.guest(client.app)
    try:
        assert (await _drop_every_connection(settings.db_url)) > 0
        res = await shopper.add(product.variants[0].id, 2)
        assert res.status_code in (200, 201), res.text
        res = await shopper.request("GET", "/api/cart")
        assert res.status_code == 200 and res.json()["lines"][0]["quantity"] == 2, res.text
    finally:
        await shopper.aclose()
