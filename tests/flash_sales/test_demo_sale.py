"""`engage demo` plans one flash sale a few minutes ahead, and only one however often it runs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engage.demo import seed_flash_sale
from engage.flash_sales import schedule
from engage.flash_sales.demo import DEMO_SALE_NAME, demo_price
from engage.flash_sales.models import FlashSale
from engage.flash_sales.timeline import sale_view
from engage.platform.clock import as_utc, utcnow
from engage.platform.runtime import Runtime
from tests.flash_sales.conftest import sale_product


async def test_the_demo_sale_is_planned_once_and_starts_in_a_few_minutes(mode_runtime: Runtime) -> None:
    runtime = mode_runtime
    for _ in range(2):  # something to sell, whatever else this database holds
        await sale_product(runtime, stock=20, price=4500)
    said: list[str] = []
    for _ in range(2):
        async with runtime.sessionmaker() as session:
            await seed_flash_sale(runtime, session, said.append)

    async with runtime.sessionmaker() as session:
        demo = (
            await session.scalars(
                select(FlashSale).where(FlashSale.name == DEMO_SALE_NAME, FlashSale.ends_at > utcnow())
            )
        ).all()
        assert len(demo) == 1, "seeding twice plans one sale"
        (sale,) = demo
        view = await sale_view(session, sale.id)
    assert len(said) == 1 and "starts at" in said[0]
    assert view is not None and view["status"] == "scheduled" and view["phase"] == "upcoming"
    starts_in = as_utc(sale.starts_at) - utcnow()
    assert timedelta(minutes=1) < starts_in <= timedelta(minutes=3)
    assert as_utc(sale.ends_at) - as_utc(sale.starts_at) == timedelta(hours=1)
    assert len(view["items"]) == 2 and len({i["handle"] for i in view["items"]}) == 2
    for item in view["items"]:
        assert 0 < item["sale_price_cents"] < item["regular_price_cents"]
        assert 1 <= item["units_left"] <= 10

    async with runtime.sessionmaker() as session:  # leave the shared database without a sale to come
        await schedule.cancel(session, sale.id)


def test_demo_prices_are_about_thirty_percent_off() -> None:
    assert demo_price(4500) == 3099
    assert demo_price(250) == 175
    assert all(0 < demo_price(p) < p for p in (200, 999, 1000, 123456))
