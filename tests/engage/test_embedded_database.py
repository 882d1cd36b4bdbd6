"""The embedded SQLite database under cancelled tasks: a job or socket cancelled mid-transaction must not
leave the write lock behind (it would stall every writer of the shop for the busy timeout)."""

from __future__ import annotations

import asyncio
import gc
import random

import sqlalchemy as sa

from engage.platform.db import make_engine, make_sessionmaker


async def test_writers_cancelled_mid_transaction_leave_no_lock_behind(tmp_path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}")
    async with engine.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE ledger (n INTEGER)"))
    sessionmaker = make_sessionmaker(engine)

    async def write_forever(n: int) -> None:
        while True:
            async with sessionmaker() as session:
                await session.execute(sa.text("INSERT INTO ledger VALUES (:n)"), {"n": n})
                await session.execute(sa.text("SELECT count(*) FROM ledger"))
                await session.commit()

    chance = random.Random(7)
    gc.disable()  # a lock left in a garbage cycle must not be rescued by a collection meanwhile
    try:
        for _ in range(60):
            writers = [asyncio.create_task(write_forever(n)) for n in range(3)]
            await asyncio.sleep(chance.random() * 0.03)
            for writer in writers:
                writer.cancel()
            await asyncio.gather(*writers, return_exceptions=True)
            async with sessionmaker() as session:  # with a lock left behind: "database is locked"
                await session.execute(sa.text("INSERT INTO ledger VALUES (-1)"))
                await session.commit()
        async with sessionmaker() as session:
            assert await session.scalar(sa.text("SELECT count(*) FROM ledger WHERE n = -1")) == 60
    finally:
        gc.enable()
        await engine.dispose()
