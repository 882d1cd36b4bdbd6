"""Commerce fixtures: products of a test's own (unique handles), an event recorder, an embedded runtime."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from commerce.catalog.drafts import ProductDraft, VariantDraft
from commerce.catalog.editing import save
from commerce.catalog.models import Product
from engage.platform.events import DomainEvent
from engage.platform.runtime import Runtime
from tests.conftest import ROOT

DEMO_CATALOG = ROOT / "engage" / "demo_data" / "products.json"


class EventLog:
    """Every event this runtime publishes, for assertions (filter by what your test owns)."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    async def __call__(self, events: list[DomainEvent]) -> None:
        self.events.extend(events)

    def of(self, type: str, **match: Any) -> list[dict[str, Any]]:
        return [
            e.data
            for e in self.events
            if e.type == type and all(e.data.get(k) == v for k, v in match.items())
        ]

    def channels_of(self, type: str, **match: Any) -> list[tuple[str, ...]]:
        return [
            e.channels
            for e in self.events
            if e.type == type and all(e.data.get(k) == v for k, v in match.items())
        ]


@pytest.fixture(scope="session")
def event_log(runtime: Runtime) -> EventLog:
    log = EventLog()
    runtime.publisher.add_sink(log)
    return log


def handle(tag: str = "t") -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}"


async def make_product(
    session: Any,
    *,
    stock: int | list[int] = 10,
    price: int = 2500,
    threshold: int = 3,
    status: str = "published",
    tags: list[str] | None = None,
    category: str | None = None,
    subcategory: str | None = None,
    weight: int = 500,
    name: str | None = None,
    brand: str = "",
    description: str = "",
) -> Product:
    """A published product of the test's own with one variant per stock figure; committed."""
    stocks = stock if isinstance(stock, list) else [stock]
    code = handle("p")
    draft = ProductDraft(
        name=name or f"Test product {code}",
        brand=brand,
        description=description,
        status=status,  # type: ignore[arg-type]
        tags=tags or [],
        category=category,
        subcategory=subcategory,
        variants=[
            VariantDraft(
                sku=f"SKU-{code}-{n}",
                price_cents=price,
                stock=units,
                weight_grams=weight,
                options={"size": str(n)},
                low_stock_threshold=threshold,
            )
            for n, units in enumerate(stocks)
        ],
    )
    result = await save(session, code, draft, default_threshold=threshold, reference="test")
    await session.commit()
    return result.product


ADDRESS = {
    "name": "Casey Shopper",
    "line1": "1 Market St",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US",
}
GOOD_CARD = "card:4242424242424242"
DECLINED_CARD = "card:4000000000000341"
THREE_DS_CARD = "card:4000002500003155"


class Shopper:
    """A shopper over HTTP: a guest browser (session cookie + CSRF header) or a signed-in API client."""

    def __init__(self, http: Any, headers: dict[str, str] | None = None) -> None:
        self.http = http
        self._headers = headers or {}

    @classmethod
    async def guest(cls, app: Any) -> Shopper:
        from tests.conftest import AppClient

        http = AppClient(app, keep_cookies=True)
        await http.get("/api/auth/me")
        return cls(http)

    @property
    def headers(self) -> dict[str, str]:
        csrf = self.http.cookies.get("engage_csrf")
        return {**self._headers, **({"x-csrftoken": csrf} if csrf and not self._headers else {})}

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def add(self, variant_id: int, quantity: int = 1) -> Any:
        return await self.request(
            "POST", "/api/cart/lines", json={"variant_id": variant_id, "quantity": quantity}
        )

    async def checkout(
        self, *, address: dict | None = None, shipping: str = "standard", email: str = "buyer@example.test"
    ) -> dict:
        res = await self.request("POST", "/api/checkout")
        assert res.status_code == 201, res.text
        checkout = res.json()
        res = await self.request(
            "PATCH",
            f"/api/checkout/{checkout['id']}",
            json={"email": email, "address": address or ADDRESS, "shipping_method": shipping},
        )
        assert res.status_code == 200, res.text
        return res.json()

    async def pay(
        self, checkout_id: str, card: str = GOOD_CARD, *, key: str | None = None, **extra: Any
    ) -> Any:
        return await self.request(
            "POST",
            f"/api/checkout/{checkout_id}/pay",
            json={"payment_method": card, **extra},
            headers={"Idempotency-Key": key or uuid.uuid4().hex},
        )

    async def aclose(self) -> None:
        await self.http.aclose()


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """`app` (lifespan already running) served by uvicorn on a free loopback port; yields its base URL."""
    import asyncio

    import uvicorn

    from tests.conftest import free_port

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
