"""Back-in-stock alerts on PostgreSQL and SQLite: signups, a restock told in waves sized to the units (by
push, decrypted at the loopback push service; by email otherwise), stopped when the variant sells out again,
exactly once with waves racing or dying midway, and a restock whose event was lost found by the
reconciliation."""

from __future__ import annotations

import asyncio
import email.message
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

from commerce import inventory
from commerce.inventory.models import StockLevel
from engage.alerts import delivery, service
from engage.alerts.models import AlertState, StockAlert
from engage.platform.clock import utcnow
from engage.platform.identity import Identity, Role
from engage.platform.mail import send_mail
from engage.services import Services
from tests.commerce.conftest import make_product
from tests.conftest import free_port
from tests.push.conftest import Person, audience, eventually, make_users, sign_in
from tests.push.push_service import PushService
from workers.alerts import stock_alert_wave


async def _sold_out_variant(services: Services) -> int:
    async with services.sessionmaker() as s:
        product = await make_product(s, stock=0)
    return product.variants[0].id


async def _sign_up(services: Services, people: list[Person], variant_id: int) -> None:
    async with services.sessionmaker() as s:
        for p in people:
            await service.sign_up(s, Identity(p.user_id, Role.customer, email=p.email), variant_id)


async def _restock(services: Services, variant_id: int, units: int) -> None:
    async with services.sessionmaker() as s:
        await inventory.adjust(s, variant_id, delta=units, note="restock")
        await s.commit()


async def _one_wave(services: Services, variant_id: int, mail: delivery.SendMail) -> dict[int, str]:
    """A wave taken and told here (the job's steps), with this `mail`: each alert's channel."""
    async with services.sessionmaker() as s:
        wave, recipients, _ = await service.take_wave(s, variant_id, service.WavePolicy(3.0, False))
        info = await service.variant_info(s, variant_id)
        channels = await delivery.tell(s, services.push, info, recipients, mail)
        await service.mark_notified(s, wave, channels)
    return channels


def _text_of(mail: email.message.Message) -> str:
    part = mail if not mail.is_multipart() else mail.get_payload()[0]
    return part.get_payload(decode=True).decode()


def _told(service_: PushService, people: list[Person]) -> list[Any]:
    ids = {service_.id_of(d["endpoint"]) for p in people for d in p.devices}
    return [d for d in service_.deliveries if d.subscription_id in ids]


async def _states(services: Services, variant_id: int) -> dict[str, int]:
    async with services.sessionmaker() as s:
        rows = await s.execute(
            select(StockAlert.state, func.count())
            .where(StockAlert.variant_id == variant_id)
            .group_by(StockAlert.state)
        )
        return {state: n for state, n in rows}


async def test_the_contract(http, push_services: Services, browser_for) -> None:
    variant = await _sold_out_variant(push_services)
    guest = await browser_for()
    csrf = {"x-csrftoken": guest.cookies.get("engage_csrf", "")}
    no_email = await guest.post("/api/stock-alerts", json={"variant_id": variant}, headers=csrf)
    assert no_email.status_code == 422
    first = await guest.post(
        "/api/stock-alerts", json={"variant_id": variant, "email": "kim@example.test"}, headers=csrf
    )
    assert first.status_code == 201, first.text
    again = await guest.post(
        "/api/stock-alerts", json={"variant_id": variant, "email": "kim@example.test"}, headers=csrf
    )
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert [a["id"] for a in (await guest.get("/api/stock-alerts")).json()] == [first.json()["id"]]
    assert (
        await guest.post("/api/stock-alerts", json={"variant_id": 2**40}, headers=csrf)
    ).status_code == 404
    async with push_services.sessionmaker() as s:
        in_stock = (await make_product(s, stock=3)).variants[0].id
    busy = await guest.post(
        "/api/stock-alerts", json={"variant_id": in_stock, "email": "k@example.test"}, headers=csrf
    )
    assert busy.status_code == 409 and busy.json()["code"] == "in_stock"
    stranger = await browser_for()
    gone = await stranger.delete(
        f"/api/stock-alerts/{first.json()['id']}",
        headers={"x-csrftoken": stranger.cookies.get("engage_csrf", "")},
    )
    assert gone.status_code == 404
    assert (await guest.delete(f"/api/stock-alerts/{first.json()['id']}", headers=csrf)).status_code == 204
    assert (await guest.get("/api/stock-alerts")).json() == []


@pytest.fixture
def slow_waves(push_services: Services) -> Any:
    """Waves an hour apart: the test says when the next one runs (as its scheduled job would)."""
    settings = push_services.settings
    before = settings.alerts_wave_seconds
    settings.alerts_wave_seconds = 3600
    yield
    settings.alerts_wave_seconds = before


async def _wait_states(services: Services, variant_id: int, expected: dict[str, int]) -> dict[str, int]:
    for _ in range(200):  # the pushes are written before their alerts are marked notified
        states = await _states(services, variant_id)
        if states == expected:
            break
        await asyncio.sleep(0.05)
    return states


@pytest.mark.slow
async def test_a_restock_is_told_in_waves_until_it_sells_out_again(
    push_services: Services, push_service: PushService, worker: None, slow_waves: None
) -> None:
    variant = await _sold_out_variant(push_services)
    people = await audience(push_services, push_service, 20)
    await _sign_up(push_services, people, variant)
    ctx = push_services.runtime.job_context

    await _restock(push_services, variant, 2)  # the sink queues a wave: factor 3, six, earliest first
    await eventually(lambda: len(_told(push_service, people)) >= 6)
    assert await _wait_states(push_services, variant, {"notified": 6, "waiting": 14}) == {
        "notified": 6,
        "waiting": 14,
    }
    first_wave = _told(push_service, people)
    assert {d.json["title"] for d in first_wave} == {"Back in stock"}
    assert all(f"variant={variant}" in d.json["url"] for d in first_wave)
    async with push_services.sessionmaker() as s:
        by_age = (
            (
                await s.execute(
                    select(StockAlert.state)
                    .where(StockAlert.variant_id == variant)
                    .order_by(StockAlert.created_at, StockAlert.id)
                )
            )
            .scalars()
            .all()
        )
    assert by_age[:6] == ["notified"] * 6 and set(by_age[6:]) == {"waiting"}

    await stock_alert_wave(ctx, variant)  # the next wave, while the units are still there
    assert (await _states(push_services, variant)) == {"notified": 12, "waiting": 8}
    async with push_services.sessionmaker() as s:  # the two units sell
        await inventory.adjust(s, variant, delta=-2, note="sold")
        await s.commit()
    assert await stock_alert_wave(ctx, variant) == "nothing to send"
    assert (await _states(push_services, variant)) == {"notified": 12, "waiting": 8}

    await _restock(push_services, variant, 10)  # the next restock: the rest (3 x 10 > 8), once each
    await eventually(lambda: len(_told(push_service, people)) >= 20)
    await asyncio.sleep(0.5)
    told = _told(push_service, people)
    assert len(told) == 20 and len({d.subscription_id for d in told}) == 20, "everyone, once"
    assert await _wait_states(push_services, variant, {"notified": 20}) == {"notified": 20}


@pytest.mark.slow
async def test_racing_and_dying_waves_tell_each_signup_once(
    push_services: Services, push_service: PushService, worker: None
) -> None:
    variant = await _sold_out_variant(push_services)
    people = await audience(push_services, push_service, 30)
    await _sign_up(push_services, people, variant)
    async with push_services.sessionmaker() as s:  # stock back without its event: nothing was queued
        await s.execute(update(StockLevel).where(StockLevel.variant_id == variant).values(on_hand=10))
        await s.commit()
    policy = service.WavePolicy(factor=1.0, everyone=False)

    async def take() -> tuple[str, list[service.Recipient], int]:
        async with push_services.sessionmaker() as s:
            return await service.take_wave(s, variant, policy)

    waves = await asyncio.gather(take(), take(), take())
    taken = [r.alert_id for _, recipients, _ in waves for r in recipients]
    assert len(taken) == len(set(taken)) and 10 <= len(taken) <= 30
    # the waves die before telling anyone; their alerts come back after STALE_SENDING
    async with push_services.sessionmaker() as s:
        again = await service.to_reconcile(s, now=utcnow() + service.STALE_SENDING + timedelta(seconds=1))
    assert variant in again
    ctx = push_services.runtime.job_context
    for _ in range(5):
        await stock_alert_wave(ctx, variant)
    await eventually(lambda: len(_told(push_service, people)) >= 30)
    await asyncio.sleep(0.5)
    told = _told(push_service, people)
    assert len(told) == 30 and len({d.subscription_id for d in told}) == 30
    assert (await _states(push_services, variant)) == {"notified": 30}
    async with push_services.sessionmaker() as s:
        assert variant not in await service.to_reconcile(s)


async def test_without_a_device_the_alert_goes_by_email(push_services: Services, http) -> None:
    variant = await _sold_out_variant(push_services)
    [person] = await make_users(push_services, 1)
    await sign_in(http, person)
    # (two apps share this process in the suite: the email is given, not read from a cached identity)
    alert = {"variant_id": variant, "email": person.email}
    res = await http.post("/api/stock-alerts", json=alert, headers=person.headers)
    assert res.status_code == 201
    inbox: list[email.message.Message] = []

    class Box:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            inbox.append(email.message_from_bytes(envelope.content))
            return "250 OK"

    controller = Controller(Box(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings = push_services.settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": controller.port, "mail_from": "shop@luxia.test"}
        )

        async def mail(to: str, subject: str, text: str, not_before: datetime | None) -> None:
            assert not_before is None  # no quiet hours: now
            await send_mail(settings, to=to, subject=subject, text=text)

        await _restock(push_services, variant, 1)
        channels = await _one_wave(push_services, variant, mail)
    finally:
        controller.stop()
    assert channels == {res.json()["id"]: "email"}
    [mail_sent] = inbox
    async with push_services.sessionmaker() as s:
        info = await service.variant_info(s, variant)
    assert mail_sent["To"] == person.email and info.name in mail_sent["Subject"]
    body = _text_of(mail_sent)
    assert "preferences?token=" in body
    assert (await _states(push_services, variant)) == {AlertState.notified.value: 1}

    # the mail's link counts the click once and goes on to the variant; a forged one counts nothing
    [link] = re.findall(r"https?://\S+/alerts/\d+/open\?t=\S+", body)
    path = link[link.index("/alerts/") :]
    marketer = (await make_users(push_services, 1, role=Role.marketer))[0]
    await sign_in(http, marketer)

    async def clicks() -> int:
        demand = await http.get("/api/admin/stock-alerts/demand?days=1", headers=marketer.headers)
        return next(v["clicked"] for v in demand.json()["variants"] if v["variant_id"] == variant)

    assert await clicks() == 0
    forged = path.split("?t=")[0] + "?t=" + "A" * 22
    assert (await http.get(forged)).status_code == 404
    for _ in range(2):
        opened = await http.get(path)
        assert opened.status_code == 303
        assert opened.headers["location"] == f"/products/{info.handle}?variant={variant}"
    assert await clicks() == 1


@pytest.mark.parametrize("mode", ["embedded"])
async def test_notify_me_on_a_sold_out_product_then_the_email_after_a_restock(
    browser: Any, app: Any, push_services: Services
) -> None:
    from playwright.async_api import expect

    from tests.commerce.conftest import serving
    from tests.web.conftest import sign_in

    async with push_services.sessionmaker() as s:
        product = await make_product(s, stock=[0, 3])
    sold_out = product.variants[0].id
    [admin] = await make_users(push_services, 1, Role.admin)
    inbox: list[email.message.Message] = []

    class Box:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            inbox.append(email.message_from_bytes(envelope.content))
            return "250 OK"

    controller = Controller(Box(), hostname="127.0.0.1", port=free_port())
    controller.start()
    settings = push_services.settings
    saved = (settings.smtp_host, settings.smtp_port, settings.mail_from)
    settings.smtp_host, settings.smtp_port, settings.mail_from = (
        "127.0.0.1",
        controller.port,
        "shop@luxia.test",
    )
    try:
        async with serving(app) as site:
            context = await browser.new_context(base_url=site)
            page = await context.new_page()
            await page.goto(f"/products/{product.handle}")
            await expect(page.locator("#stock-alert")).to_be_visible()
            options = page.locator("#stock-alert-variant option")
            await expect(options).to_have_count(1)  # only the sold-out one
            assert await options.first.get_attribute("value") == str(sold_out)
            await page.get_by_label("Your email").fill("ada@example.test")
            await page.get_by_role("button", name="Notify me").click()
            await expect(page.locator("#stock-alert-message")).to_contain_text("we will tell you")

            staff = await (await browser.new_context(base_url=site)).new_page()
            await sign_in(staff, admin)
            restocked = await staff.evaluate(
                """async (variant) => {
                    const csrf = document.cookie.split("; ").find((c) => c.startsWith("engage_csrf="))?.split("=")[1];
                    const res = await fetch(`/api/admin/variants/${variant}/stock`, {method: "POST",
                      headers: {"Content-Type": "application/json", "x-csrftoken": decodeURIComponent(csrf || "")},
                      body: JSON.stringify({restock: 4})});
                    return res.status;
                }""",
                sold_out,
            )
            assert restocked == 200
            await eventually(lambda: any(m["To"] == "ada@example.test" for m in inbox), within=20)
            [mail] = [m for m in inbox if m["To"] == "ada@example.test"]
            link = next(word for word in _text_of(mail).split() if "/open?t=" in word)
            await page.goto(link.replace("https://shop.example", site))  # counted, then on to the variant
            await expect(page).to_have_url(f"{site}/products/{product.handle}?variant={sold_out}")
            await expect(page.locator(f"[data-stock-variant='{sold_out}']")).not_to_have_text("Sold out")
            await context.close()
    finally:
        settings.smtp_host, settings.smtp_port, settings.mail_from = saved
        controller.stop()


async def test_an_alert_mail_waits_for_the_end_of_the_shoppers_quiet_hours(
    push_services: Services, http
) -> None:
    variant = await _sold_out_variant(push_services)
    [person] = await make_users(push_services, 1)
    await sign_in(http, person)
    now = datetime.now(UTC)
    start, end = (now - timedelta(hours=1)).strftime("%H:%M"), (now + timedelta(hours=2)).strftime("%H:%M")
    res = await http.put(
        "/api/notifications/preferences",
        json={"timezone": "UTC", "quiet_hours": {"start": start, "end": end}},
        headers=person.headers,
    )
    assert res.status_code == 200, res.text
    res = await http.post(
        "/api/stock-alerts", json={"variant_id": variant, "email": person.email}, headers=person.headers
    )
    assert res.status_code == 201
    asked: list[tuple[str, datetime | None]] = []

    async def mail(to: str, subject: str, text: str, not_before: datetime | None) -> None:
        asked.append((to, not_before))

    await _restock(push_services, variant, 1)
    channels = await _one_wave(push_services, variant, mail)
    [(to, not_before)] = asked
    ends = (now + timedelta(hours=2)).replace(second=0, microsecond=0)
    assert to == person.email and not_before is not None and abs((not_before - ends).total_seconds()) < 61
    assert channels == {res.json()["id"]: "email"}  # deferred, not dropped
