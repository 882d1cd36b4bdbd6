"""Two `engage serve` processes sharing PostgreSQL and Redis: 1,000 shoppers claim a sale's 100 units at
once, spread over both nodes; the winners check out, some pay: as many paid orders as paid claims."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select

from commerce.orders.models import Order, OrderLine
from engage.auth.tokens import create_api_token
from engage.flash_sales.models import ClaimStatus, FlashClaim, FlashSaleItem
from engage.platform.runtime import Runtime
from tests.commerce.conftest import ADDRESS, GOOD_CARD
from tests.conftest import Server, start_server
from tests.flash_sales.conftest import make_sale, make_shoppers, sale_product

pytestmark = pytest.mark.nodes

CLAIMERS = 1_000
UNITS = 100
PAYERS = 60
BUSY_RETRIES = 20  # a 503 (node busy) took no unit: the client tries again, as the storefront does


@pytest.fixture(scope="module")
def nodes(prod_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:
    log_dir = tmp_path_factory.mktemp("flash-nodes")
    servers = [start_server(prod_env, log_dir)]
    try:
        servers.append(start_server(prod_env, log_dir))
    except Exception:
        servers[0].stop()
        raise
    yield servers
    for server in servers:
        server.stop()


async def _call(http: httpx.AsyncClient, method: str, path: str, token: str, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    for _ in range(BUSY_RETRIES):
        res = await http.request(method, path, headers=headers, **kwargs)
        if res.status_code != 503:
            return res
        await asyncio.sleep(0.2)
    return res


async def _check_out_and_pay(http: httpx.AsyncClient, token: str) -> httpx.Response:
    res = await _call(http, "POST", "/api/checkout", token)
    assert res.status_code == 201, res.text
    checkout = res.json()
    details = {
        "email": f"{uuid.uuid4().hex[:8]}@example.test",
        "address": ADDRESS,
        "shipping_method": "standard",
    }
    res = await _call(http, "PATCH", f"/api/checkout/{checkout['id']}", token, json=details)
    assert res.status_code == 200, res.text
    return await _call(
        http,
        "POST",
        f"/api/checkout/{checkout['id']}/pay",
        token,
        json={"payment_method": GOOD_CARD},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )


async def _api_tokens(runtime: Runtime, user_ids: list[int]) -> list[str]:
    """An API client's bearer token for each shopper, made in the database (the HTTP route hashes the
    password each time: slow, and not under test here)."""
    async with runtime.sessionmaker() as session:
        return [(await create_api_token(session, uid, "flash-test"))[1] for uid in user_ids]


async def _item(runtime: Runtime, sale_id: int) -> FlashSaleItem:
    async with runtime.sessionmaker() as session:
        return (await session.scalars(select(FlashSaleItem).where(FlashSaleItem.sale_id == sale_id))).one()


async def test_a_thousand_claimers_over_two_nodes_get_exactly_the_hundred_units(
    nodes: list[Server], runtime: Runtime
) -> None:
    product = await sale_product(runtime, stock=UNITS + 50)
    variant = product.variants[0].id
    sale_id = await make_sale(runtime, [variant], units=UNITS, limit=1)
    shoppers = await make_shoppers(runtime, CLAIMERS)
    issued = await _api_tokens(runtime, [s.user_id for s in shoppers if s.user_id is not None])

    limits = httpx.Limits(max_connections=200)
    clients = [httpx.AsyncClient(base_url=node.url, limits=limits, timeout=120) for node in nodes]
    try:
        claim = {"variant_id": variant}
        path = f"/api/flash-sales/{sale_id}/claims"
        # one unit through each node first: which node the race's winners reach is up to the scheduler
        firsts = [await _call(clients[n], "POST", path, issued[n], json=claim) for n in (0, 1)]
        assert [res.status_code for res in firsts] == [201, 201], firsts[0].text
        raced = await asyncio.gather(
            *(_call(clients[n % 2], "POST", path, issued[n], json=claim) for n in range(2, CLAIMERS))
        )
        answers = firsts + raced
        outcome = Counter(
            "claimed" if res.status_code == 201 else f"{res.status_code} {res.json().get('code')}"
            for res in answers
        )
        assert outcome == {"claimed": UNITS, "409 sold_out": CLAIMERS - UNITS}
        winners = [n for n, res in enumerate(answers) if res.status_code == 201]

        paid = await asyncio.gather(
            *(_check_out_and_pay(clients[n % 2], issued[n]) for n in winners[:PAYERS])
        )
        assert [res.status_code for res in paid] == [200] * PAYERS, paid[0].text
    finally:
        for http in clients:
            await http.aclose()

    # a paid hold becomes a sold unit after the payment's commit (the node's event sink): wait for it
    async with asyncio.timeout(60):
        while (item := await _item(runtime, sale_id)).units_paid < PAYERS:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    assert (item.units_claimed, item.units_paid) == (UNITS, PAYERS)
    async with runtime.sessionmaker() as session:
        claims_by_status = Counter(
            (await session.scalars(select(FlashClaim.status).where(FlashClaim.sale_id == sale_id))).all()
        )
        assert claims_by_status == {ClaimStatus.paid.value: PAYERS, ClaimStatus.held.value: UNITS - PAYERS}
        paid_orders = await session.scalar(
            select(func.count(func.distinct(Order.id)))
            .join(OrderLine, OrderLine.order_id == Order.id)
            .where(OrderLine.variant_id == variant, Order.status == "paid")
        )
        assert paid_orders == PAYERS
