"""Staff hear about stock: one low-stock alert per crossing of the threshold (not one per unit sold), live
to marketers and admins on `stock-low` and by email; a daily digest in its hour; and marketers read what
back-in-stock alerts were asked for and what they brought (bought within 7 days), with a CSV. Embedded
mode: the in-process runner runs the jobs the sinks queue."""

from __future__ import annotations

import asyncio
import csv
import email.message
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from commerce import inventory
from engage.app import create_app
from engage.platform.identity import Role
from engage.platform.migrations import upgrade
from tests.commerce.conftest import Shopper, make_product, serving
from tests.conftest import TEST_ENV, AppClient, account_on, free_port, running, settings_from
from tests.push.conftest import eventually
from tests.realtime.client import Socket
from workers.alerts import low_stock_digest


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[email.message.Message]:
        return [m for m in self.messages if m["To"] == address]


def body(message: email.message.Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


@pytest.fixture
async def shop(tmp_path) -> AsyncIterator[tuple[AppClient, Inbox]]:
    """An embedded shop of its own with a mail server that keeps what it gets."""
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = {**TEST_ENV, "ENGAGE_DATA_DIR": str(tmp_path), "ENGAGE_DATABASE_URL": "", "ENGAGE_REDIS_URL": ""}
    settings = settings_from(
        env,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        mail_from="shop@luxia.test",
        public_url="http://shop.test",
        low_stock_digest_hour=8,
        demo_seed=False,
    )
    await upgrade(settings.db_url)
    app = create_app(settings)
    try:
        async with running(app):
            client = AppClient(app, keep_cookies=False)
            yield client, inbox
            await client.aclose()
    finally:
        smtp.stop()


async def _token(client: AppClient, account: Any) -> str:
    res = await client.post("/api/auth/socket-token", headers=account.headers)
    return str(res.json()["token"])


@pytest.mark.slow
async def test_one_alert_per_crossing_live_and_by_mail_then_the_digest(shop) -> None:
    client, inbox = shop
    admin, marketer, agent = (
        await account_on(client, Role.admin),
        await account_on(client, Role.marketer),
        await account_on(client, Role.agent),
    )
    runtime = client.app.state.runtime
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=[6, 0], threshold=3)
    low, out = product.variants
    async with serving(client.app) as base, Socket.open(base, token=await _token(client, marketer)) as sock:
        assert (await sock.subscribe("stock-low"))["type"] == "subscribed"
        for _ in range(4):  # 6 -> 2, one unit at a time: the threshold of 3 is crossed once
            async with runtime.sessionmaker() as s:
                await inventory.sell(s, low.id, 1, reference="till")
                await s.commit()
        event = await sock.next("event", channel="stock-low")
        assert event["event"] == "stock.low_alert"
        assert event["data"]["variant_id"] == low.id and event["data"]["available"] <= 3
        assert event["data"]["suggested_reorder"] > 0 and event["data"]["threshold"] == 3
        await eventually(lambda: len(inbox.messages) >= 2)
        await asyncio.sleep(1.0)  # nothing more comes: one alert, not one per unit
        with pytest.raises(TimeoutError):
            await sock.next("event", channel="stock-low", wait=0.5)
    assert (
        len(inbox.to(admin.email)) == 1 and len(inbox.to(marketer.email)) == 1 and not inbox.to(agent.email)
    )
    [mail] = inbox.to(marketer.email)
    assert low.sku in mail["Subject"] and "http://shop.test/admin/stock?showing=low" in body(mail)

    ctx = {"services": client.app.state.services}
    assert await low_stock_digest(ctx, now=datetime(2030, 1, 1, 9, tzinfo=UTC)) == "not the hour"
    assert await low_stock_digest(ctx, now=datetime(2030, 1, 1, 8, 5, tzinfo=UTC)) == "queued"
    await eventually(lambda: len(inbox.to(admin.email)) == 2)
    digest = inbox.to(admin.email)[1]
    assert digest["Subject"].startswith("Stock digest:")
    text = body(digest)
    assert text.index(out.sku) < text.index(low.sku)  # sold out first
    refused = await client.get("/api/admin/stock-alerts/demand", headers=agent.headers)
    assert refused.status_code == 403


async def test_what_alerts_were_asked_for_and_what_they_brought(shop) -> None:
    client, inbox = shop
    marketer = await account_on(client, Role.marketer)
    runtime = client.app.state.runtime
    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=[0], threshold=1)
    variant = product.variants[0]
    keen, idle = (
        Shopper(AppClient(client.app, keep_cookies=True)),
        Shopper(AppClient(client.app, keep_cookies=True)),
    )
    for who, address in ((keen, "keen@example.test"), (idle, "idle@example.test")):
        await who.http.get("/api/auth/me")
        res = await who.request(
            "POST", "/api/stock-alerts", json={"variant_id": variant.id, "email": address}
        )
        assert res.status_code == 201, res.text
    async with runtime.sessionmaker() as s:
        await inventory.adjust(s, variant.id, delta=5, note="delivery")
        await s.commit()
    await eventually(lambda: len(inbox.messages) == 2)  # both told by email: no devices
    assert (await keen.add(variant.id)).status_code in (200, 201)
    checkout = await keen.checkout(email="keen@example.test")
    assert (await keen.pay(checkout["id"])).status_code == 200

    res = await client.get("/api/admin/stock-alerts/demand?days=30", headers=marketer.headers)
    assert res.status_code == 200, res.text
    [row] = [r for r in res.json()["variants"] if r["variant_id"] == variant.id]
    assert (row["signups"], row["waiting"], row["notified"], row["clicked"], row["bought"]) == (2, 0, 2, 0, 1)
    assert row["conversion"] == 0.5 and res.json()["totals"]["bought"] >= 1
    sheet = await client.get("/api/admin/stock-alerts/demand.csv?days=30", headers=marketer.headers)
    rows = {r["sku"]: r for r in csv.DictReader(io.StringIO(sheet.text))}
    assert rows[variant.sku]["bought"] == "1" and rows[variant.sku]["conversion"] == "0.5000"
    waiting = await client.get(
        f"/api/admin/stock-alerts/waiting?variant_id={variant.id}", headers=marketer.headers
    )
    assert waiting.json() == {str(variant.id): 0}
    for who in (keen, idle):
        await who.aclose()
